"""Run the whole suite on this machine under supervisord (``make run``; the e2e tests too).

1. prepares ``$PORTAL_VAR_DIR`` (``log/``, ``run/``; default ``./var``);
2. applies every service's migrations (``portal migrate``);
3. starts supervisord in the foreground with ``config/supervisord.conf``: the five
   services and the gateway, each restarted when it dies;
4. waits until ``GET /healthz`` answers 200, then loads the demo data (``portal seed``)
   and prints where to go;
5. follows the programs' logs on the terminal (``--no-follow`` to keep quiet).

Ctrl-C or SIGTERM stops supervisord, which stops every program before it exits; if
this launcher is killed outright, the kernel sends supervisord SIGTERM (PDEATHSIG).
``$PORTAL_VAR_DIR/run/suite.json`` says how far the start got (read by the e2e tests).

Only the standard library is used here: the programs run in the same virtualenv as
the Python that runs this file.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# PORTAL_SUPERVISOR_CONFIG: another supervisord file (the scale-out test runs two instances
# of every service from one generated from this one).
CONFIG = Path(os.environ.get("PORTAL_SUPERVISOR_CONFIG") or ROOT / "config" / "supervisord.conf")
PROGRAMS = ("identity", "tenancy", "billing", "audit", "notify", "gateway", "processor")
SERVICES = PROGRAMS[:5]
METRICS_BASE_PORT = 9101  # identity 9101, tenancy 9102, billing 9103, audit 9104, notify 9105
PR_SET_PDEATHSIG = 1


def say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def suite_environment() -> dict[str, str]:
    env = dict(os.environ)
    var_dir = Path(env.get("PORTAL_VAR_DIR") or ROOT / "var").resolve()
    env["PORTAL_VAR_DIR"] = str(var_dir)
    env["PORTAL_BIN_DIR"] = str(Path(sys.executable).parent)
    env.setdefault("PORTAL_GATEWAY_HOST", "127.0.0.1")
    env.setdefault("PORTAL_GATEWAY_PORT", "8000")
    public_url = f"http://localhost:{env['PORTAL_GATEWAY_PORT']}"
    env.setdefault("GATEWAY_PUBLIC_BASE_URL", public_url)
    env.setdefault("PORTAL_PUBLIC_BASE_URL", public_url)  # links in mails
    # The test payment processor's card form, on an origin of its own, framed by the console.
    env.setdefault("PROCESSOR_PORT", "8790")
    env.setdefault("PROCESSOR_ALLOWED_ORIGINS", ",".join(
        sorted({public_url, env["GATEWAY_PUBLIC_BASE_URL"], f"http://127.0.0.1:{env['PORTAL_GATEWAY_PORT']}"})))
    env.setdefault("GATEWAY_CARD_FORM_URL", f"http://127.0.0.1:{env['PROCESSOR_PORT']}/card-form")
    # Each service serves /metrics on a port of its own (the gateway on its HTTP port).
    for offset, service in enumerate(SERVICES):
        env.setdefault(f"PORTAL_METRICS_PORT_{service.upper()}", str(METRICS_BASE_PORT + offset))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def supervisord_alive(pid: int) -> bool:
    """True when ``pid`` is a live supervisord (a stale pidfile's number may be reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return b"supervisord" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pidfile


def refuse_second_start(var_dir: Path, host: str, port: int) -> str | None:
    pidfile = var_dir / "run" / "supervisord.pid"
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pidfile.read_text().strip())
        if supervisord_alive(pid):
            return (f"the suite already runs from {var_dir} (supervisord pid {pid}); "
                    "`make status` shows it, Ctrl-C in its terminal stops it")
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex((host, port)) == 0:
            return f"{host}:{port} is taken by another program; set PORTAL_GATEWAY_PORT"
    return None


def die_with_parent() -> None:
    """In the supervisord child: get SIGTERM when this launcher goes away (Linux)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def fetch_health(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (our own URL)
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, urllib.error.URLError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:200]


def down_services(body: Any) -> list[str]:
    """Services that ``/healthz`` reports as not ok (``{"services": {name: {"status"}}}``)."""
    services = body.get("services") if isinstance(body, dict) else None
    if not isinstance(services, dict):
        return []
    return [name for name, health in services.items()
            if not isinstance(health, dict) or health.get("status") != "ok"]


class LogFollower(threading.Thread):
    """Prints new lines of every program's log, one compact line per JSON log record."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__(daemon=True, name="log-follower")
        self.paths = {name: log_dir / f"{name}.log" for name in PROGRAMS}
        self.offsets = {name: self._size(path) for name, path in self.paths.items()}
        self.partial = dict.fromkeys(PROGRAMS, "")

    @staticmethod
    def _size(path: Path) -> int:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0

    def run(self) -> None:
        while True:
            for name, path in self.paths.items():
                self._drain(name, path)
            time.sleep(0.25)

    def _drain(self, name: str, path: Path) -> None:
        size = self._size(path)
        if size < self.offsets[name]:  # rotated or truncated
            self.offsets[name] = 0
        if size == self.offsets[name]:
            return
        with path.open("rb") as handle:
            handle.seek(self.offsets[name])
            chunk = handle.read(size - self.offsets[name])
        self.offsets[name] = size
        text = self.partial[name] + chunk.decode(errors="replace")
        *lines, self.partial[name] = text.split("\n")
        for line in lines:
            if line.strip():
                print(render_line(name, line), flush=True)


def render_line(program: str, line: str) -> str:
    try:
        record = json.loads(line)
    except ValueError:
        return f"{program:<9}| {line}"
    if not isinstance(record, dict):
        return f"{program:<9}| {line}"
    when = str(record.pop("timestamp", ""))[11:19]
    level = str(record.pop("level", "")).upper()
    event = record.pop("event", "")
    for noise in ("service", "logger"):
        record.pop(noise, None)
    fields = " ".join(f"{key}={value}" for key, value in record.items() if value is not None)
    return f"{program:<9}| {when} {level:<7} {event} {fields}".rstrip()


class Launcher:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.env = suite_environment()
        self.var_dir = Path(self.env["PORTAL_VAR_DIR"])
        self.host = self.env["PORTAL_GATEWAY_HOST"]
        self.port = int(self.env["PORTAL_GATEWAY_PORT"])
        self.state_file = self.var_dir / "run" / "suite.json"
        self.supervisord: subprocess.Popen[bytes] | None = None
        self.stopping = False

    @property
    def bin_dir(self) -> Path:
        return Path(self.env["PORTAL_BIN_DIR"])

    def write_state(self, **state: Any) -> None:
        state.setdefault("supervisord_pid", self.supervisord.pid if self.supervisord else None)
        state.setdefault("base_url", f"http://{self.host}:{self.port}")
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self.state_file)

    def on_signal(self, signum: int, _frame: Any) -> None:
        if not self.stopping:
            say(f"{signal.Signals(signum).name}: stopping every program …")
        self.stopping = True
        if self.supervisord is not None and self.supervisord.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.supervisord.send_signal(signal.SIGTERM)

    def run(self) -> int:
        for sub in ("log", "run"):
            (self.var_dir / sub).mkdir(parents=True, exist_ok=True)
        refusal = refuse_second_start(self.var_dir, self.host, self.port)
        if refusal:
            say(refusal)
            return 1
        self.state_file.unlink(missing_ok=True)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.on_signal)

        say("applying migrations (portal migrate) …")
        migrate = subprocess.run(  # noqa: S603 (our own virtualenv's command)
            [str(self.bin_dir / "portal"), "migrate"], env=self.env, cwd=ROOT, check=False
        )
        if migrate.returncode != 0:
            say("migrations failed; nothing started")
            return migrate.returncode
        if self.stopping:
            return 130

        follower = LogFollower(self.var_dir / "log") if self.args.follow else None
        self.supervisord = subprocess.Popen(  # noqa: S603 (our own virtualenv's command)
            [str(self.bin_dir / "supervisord"), "-n", "-c", str(CONFIG)],
            env=self.env,
            cwd=ROOT,
            # Forked before any thread of ours starts.
            preexec_fn=die_with_parent,
        )
        if follower is not None:
            follower.start()
        say(f"supervisord started (pid {self.supervisord.pid}); logs in {self.var_dir / 'log'}")
        self.write_state(state="starting")
        if self.wait_until_healthy():
            self.seed_and_greet()
        code = self.supervisord.wait()
        self.state_file.unlink(missing_ok=True)
        say(f"supervisord exited ({code}); every program is stopped")
        return 0 if self.stopping else (code or 1)

    def wait_until_healthy(self) -> bool:
        assert self.supervisord is not None
        url = f"http://{self.host}:{self.port}/healthz"
        deadline = time.monotonic() + self.args.ready_timeout
        last_report = time.monotonic()
        body: Any = None
        while not self.stopping and self.supervisord.poll() is None:
            status, body = fetch_health(url)
            if status == 200:
                return True
            if time.monotonic() > deadline:
                say(f"not healthy after {self.args.ready_timeout:.0f}s: {url} says {status} {body}")
                say("the suite keeps running; see var/log/<program>.log and `make status`")
                self.write_state(state="unhealthy", health=body)
                return False
            if time.monotonic() - last_report > 10:
                waiting = down_services(body) if status else ["gateway"]
                say("waiting for " + (", ".join(waiting) or "the gateway") + " …")
                last_report = time.monotonic()
            time.sleep(0.3)
        return False

    def seed_and_greet(self) -> None:
        say("all services are ok; loading the demo data (portal seed) …")
        seed = subprocess.run(  # noqa: S603 (our own virtualenv's command)
            [str(self.bin_dir / "portal"), "seed"], env=self.env, cwd=ROOT, check=False,
            capture_output=True, text=True,
        )
        # stderr holds library warnings; it matters only when the seed failed.
        seed_output = (seed.stdout if seed.returncode == 0 else seed.stdout + seed.stderr).strip()
        if seed.returncode != 0:
            say(f"portal seed failed (exit {seed.returncode}); the suite runs without demo data:")
        for line in seed_output.splitlines()[-20:]:
            print(f"    {line}", flush=True)
        self.write_state(state="ready", seed="ok" if seed.returncode == 0 else "failed",
                         seed_output=seed_output[-2000:])
        self.greet()

    def greet(self) -> None:
        base = f"http://localhost:{self.port}"
        operator = self.env.get("PORTAL_OPERATOR_EMAIL")
        lines = [
            "",
            f"  Backup portal is up: {base}    API docs: {base}/docs    health: {base}/healthz",
            f"  Sign in: POST {base}/api/v1/auth/sign-in with {{\"email\", \"password\"}} (see above),",
            "           then send 'Authorization: Bearer <token>'.",
        ]
        if operator:
            lines.append(f"  Operator: {operator} (password from PORTAL_OPERATOR_PASSWORD)")
        lines += [
            f"  Logs: {self.var_dir / 'log'}/<program>.log   status: make status"
            "   stop one: make stop-service SERVICE=identity",
            "  Ctrl-C stops everything.",
            "",
        ]
        print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-follow", dest="follow", action="store_false",
                        help="do not echo the programs' logs on this terminal")
    parser.add_argument("--ready-timeout", type=float,
                        default=float(os.environ.get("PORTAL_READY_TIMEOUT", "120")),
                        help="seconds to wait for /healthz to answer 200 (default 120)")
    parser.add_argument("--check-health", action="store_true",
                        help="only print what GET /healthz of a running suite answers")
    args = parser.parse_args(argv)
    if args.check_health:
        env = suite_environment()
        url = f"http://{env['PORTAL_GATEWAY_HOST']}:{env['PORTAL_GATEWAY_PORT']}/healthz"
        status, body = fetch_health(url)
        print(f"{url}: {status or 'no answer'} {json.dumps(body) if body is not None else ''}")
        return 0 if status == 200 else 1
    return Launcher(args).run()


if __name__ == "__main__":
    sys.exit(main())
