"""A fake RPC client for route tests: answers from a table, records every call.

    fake = FakeRpcClient({("tenancy", "get_account"): {"id": ...},
                          ("billing", "status"): NotFound("no such account")})
    client = TestClient(create_app(rpc_client_factory=lambda _: fake))

An answer is a value, an exception instance (raised as the service would), or a callable
taking the call's arguments. A call with no answer fails as a service that is not running.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.rpc import Call, CallResult, CallSpec, RequestContext, RpcClient, as_call, unavailable


@dataclass(frozen=True)
class RecordedCall:
    call: Call
    context: RequestContext | None
    timeout: float | None


class FakeRpcClient(RpcClient):
    def __init__(self, answers: Mapping[tuple[str, str], Any] | None = None) -> None:
        self.answers: dict[tuple[str, str], Any] = dict(answers or {})
        self.calls: list[RecordedCall] = []
        self.closed = False

    def call_many(
        self,
        calls: Mapping[str, CallSpec],
        *,
        context: RequestContext | None = None,
        timeout: float | None = None,
    ) -> dict[str, CallResult]:
        results = {}
        for key, spec in calls.items():
            call = as_call(key, spec)
            self.calls.append(RecordedCall(call, context, timeout))
            results[key] = self._answer(call)
        return results

    def _answer(self, call: Call) -> CallResult:
        if (call.service, call.method) not in self.answers:
            return CallResult(error=unavailable(call.service, "not running (no consumer)"))
        answer = self.answers[(call.service, call.method)]
        if isinstance(answer, BaseException):
            return CallResult(error=answer)
        if callable(answer):
            try:
                return CallResult(value=answer(*call.args, **call.kwargs))
            except Exception as exc:
                return CallResult(error=exc)
        return CallResult(value=answer)

    def close(self) -> None:
        self.closed = True
