"""Request body limits: oversized bodies and deeply nested JSON are refused before any route
sees them (a pure ASGI middleware, like :mod:`gateway.middleware`).

- A ``Content-Length`` over the limit is answered 413 ``payload_too_large`` at once, unread.
- A body without a length (chunked) is counted as it streams in; the first byte past the
  limit ends the reading with the same 413. So at most ``limit`` bytes are ever held.
- A JSON body nested deeper than ``max_json_depth`` arrays/objects is answered 422
  ``validation_failed`` naming ``body``; the check is a linear scan that never recurses,
  so a body of ten thousand ``[`` neither reaches the JSON parser nor its recursion limit.

The accepted body is handed on to the app as one message; what comes after it (a client's
disconnect) still reaches the app from the server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import error_response

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A JSON string (escapes included), or one bracket: strings are skipped whole, so brackets
# inside them do not count.
_JSON_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset(b"[{")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit``; invalid JSON is left to
    the parser (it answers its own 422)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot be deeper than the number of openers
    depth = 0
    for match in _JSON_TOKENS.finditer(body):
        token = match.group()
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _is_json(headers: Headers) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses bodies over ``max_body_bytes`` (413) and JSON deeper than ``max_json_depth``
    (422). ``path_limits`` raises the byte limit for the given paths (the engine's ingest)."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = 1024 * 1024,
        max_json_depth: int = 32,
        path_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.path_limits = dict(path_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.path_limits.get(scope["path"], self.max_body_bytes)
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await error_response(400, "bad_request", "Content-Length is not a number")(scope, receive, send)
                return
            if length > limit:
                await self._too_large(limit)(scope, receive, send)
                return
        try:
            body = await self._read(receive, limit)
        except _TooLarge:
            await self._too_large(limit)(scope, receive, send)
            return
        if body is None:  # the client went away before sending it all
            return
        if _is_json(headers) and json_depth_exceeds(body, self.max_json_depth):
            reason = f"JSON nested deeper than {self.max_json_depth} levels"
            await error_response(422, "validation_failed", f"body: {reason}",
                                 {"fields": [{"field": "body", "reason": reason}]})(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    @staticmethod
    def _too_large(limit: int) -> JSONResponse:
        return error_response(413, "payload_too_large", f"the request body is larger than {limit} bytes",
                              {"limit_bytes": limit}, headers={"Connection": "close"})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
