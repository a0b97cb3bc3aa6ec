// Validate an AsyncAPI document with the official parser (@asyncapi/parser).
// Usage: node validate.mjs <document.json>. Prints every diagnostic as JSON lines
// ({"severity", "code", "message", "path"}); exits 1 when any has severity error (0).
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <document.json>");
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(path, "utf8"), { source: path });
let errors = 0;
for (const d of diagnostics) {
  // Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
  if (d.severity === 0) errors += 1;
  console.log(JSON.stringify({ severity: d.severity, code: d.code, message: d.message, path: d.path.join(".") }));
}
if (errors || document === undefined) {
  console.error(`${errors} error(s)${document === undefined ? "; the document did not parse" : ""}`);
  process.exit(1);
}
console.error(`valid: AsyncAPI ${document.version()}, ${document.channels().length} channels`);
