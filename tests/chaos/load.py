"""A steady stream of sign-ins, account creations and backup-run ingests through the gateway.

Every request is recorded with what it should have changed (the session token, the
account's unique name, the run ids), its HTTP status (0: the gateway refused the
connection, -1: no answer within the client's limit, i.e. a hang), its latency and the
fault phase it was sent in. The chaos test checks the effects afterwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

HANG_LIMIT = 45.0
"""Seconds after which the client gives up: an answer later than this counts as a hang."""


@dataclass
class Outcome:
    kind: str  # sign_in | create_account | ingest | read
    status: int  # HTTP status; 0 connection refused/reset; -1 no answer within HANG_LIMIT
    latency: float
    phase: str
    effect: Any = None  # token / account name / run ids
    code: str | None = None  # the error's code, when the body has one
    at: float = 0.0  # when it was sent (epoch seconds), to find it in the logs
    correlation_id: str | None = None  # the gateway's X-Correlation-ID of the answer
    finished: float = 0.0  # time.monotonic() when the answer (or the error) came

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Load:
    base_url: str
    operator: tuple[str, str]
    distributor_id: str
    engine_key: str
    task_ids: list[str]
    account_ids: list[str] = field(default_factory=list)  # read back by the read worker
    phase: str = "warmup"
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)
    _token: str | None = None

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        # A steady stream, not a stress test: a few requests a second leave this 2-core machine
        # room to catch up after each fault (the faults, not the load, are under test).
        workers = [(self._sign_in, 1.0), (self._create_account, 0.25), (self._ingest, 0.25), (self._read, 0.25)]
        for number, (work, pause) in enumerate(workers):
            thread = threading.Thread(target=self._loop, args=(work, pause), name=f"load-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=HANG_LIMIT + 5)

    def _loop(self, work: Any, pause: float) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            work(session)
            time.sleep(pause)

    def _send(self, session: requests.Session, kind: str, effect: Any, method: str, path: str,
              token: str | None, **kwargs: Any) -> Outcome:
        phase = self.phase
        headers = {"X-Forwarded-For": f"198.18.{uuid.uuid4().int % 250 + 1}.{uuid.uuid4().int % 250 + 1}",
                   "User-Agent": "chaos-load", **kwargs.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        started, at = time.monotonic(), time.time()
        code = correlation_id = None
        try:
            response = session.request(method, self.base_url + path, headers=headers, timeout=HANG_LIMIT, **kwargs)
            status = response.status_code
            correlation_id = response.headers.get("X-Correlation-ID")
            if status >= 400:
                try:
                    code = response.json()["error"]["code"]
                except (ValueError, KeyError, TypeError):
                    code = response.text[:80]
            elif kind == "sign_in":
                effect = response.json()["token"]
        except requests.Timeout:
            status = -1
        except requests.ConnectionError as error:
            status, code = 0, str(error)[:200]
            session.close()
        finished = time.monotonic()
        outcome = Outcome(kind, status, finished - started, phase, effect, code, at, correlation_id, finished)
        with self._lock:
            self.outcomes.append(outcome)
        return outcome

    def _operator_token(self, session: requests.Session) -> str | None:
        if self._token is None:
            outcome = self._send(session, "sign_in", None, "POST", "/api/v1/auth/sign-in", None,
                                 json={"email": self.operator[0], "password": self.operator[1]})
            if outcome.accepted:
                self._token = outcome.effect
        return self._token

    def _sign_in(self, session: requests.Session) -> None:
        outcome = self._send(session, "sign_in", None, "POST", "/api/v1/auth/sign-in", None,
                             json={"email": self.operator[0], "password": self.operator[1]})
        if outcome.accepted:
            self._token = outcome.effect  # the newest session serves the other workers

    def _create_account(self, session: requests.Session) -> None:
        token = self._operator_token(session)
        if token is None:
            return
        name = f"chaos-{uuid.uuid4().hex}"
        # An idempotent write: the proxy may send it again to the other gateway.
        self._send(session, "create_account", name, "POST", "/api/v1/accounts", token,
                   json={"name": name, "email": f"{name}@chaos.example", "distributor_id": self.distributor_id},
                   headers={"Idempotency-Key": name})

    def _read(self, session: requests.Session) -> None:
        token = self._operator_token(session)
        if token is None or not self.account_ids:
            return
        account = self.account_ids[uuid.uuid4().int % len(self.account_ids)]
        path = "/api/v1/me" if uuid.uuid4().int % 2 else f"/api/v1/accounts/{account}"
        self._send(session, "read", None, "GET", path, token)

    def _ingest(self, session: requests.Session) -> None:
        finished = datetime.now(UTC)
        task_id = self.task_ids[uuid.uuid4().int % len(self.task_ids)]  # an engine reports for many tasks
        runs = [{"run_id": str(uuid.uuid4()), "task_id": task_id, "status": "success",
                 "started_at": (finished - timedelta(minutes=5)).isoformat(), "finished_at": finished.isoformat(),
                 "size_bytes": 1000 + i, "seats": 3} for i in range(3)]
        self._send(session, "ingest", [run["run_id"] for run in runs], "POST", "/api/v1/ingest/backup-runs",
                   self.engine_key, json=runs)

    # --- figures ------------------------------------------------------------------------------

    def by_status(self) -> dict[str, int]:
        return dict(sorted(Counter(str(o.status) for o in self.outcomes).items()))

    def accepted(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind and o.accepted]

    def refused(self, kind: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.kind == kind and not o.accepted]
