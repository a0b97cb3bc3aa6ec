"""A background loop for a service's managed green thread (outbox relay, mail delivery).

``pass_once`` does one batch of work and returns how much it did. While it finds work the
loop goes straight on; when a pass finds nothing it sleeps ``interval`` seconds, or less
if :meth:`PollingLoop.wake` is called (e.g. right after a commit that created work). A
failing pass is logged and retried on the next round; it never ends the loop.
"""

from __future__ import annotations

from collections.abc import Callable

import eventlet

from servicekit.logging import get_logger

log = get_logger(__name__)


def short_error(exc: BaseException, limit: int = 200) -> str:
    """A one-line description of an error for logs and error columns.

    For a database error only the driver's message is kept: SQLAlchemy's own text
    carries the statement's parameters, which may hold personal data or secrets.
    """
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:limit]


class PollingLoop:
    def __init__(self, pass_once: Callable[[], int], interval: float, name: str) -> None:
        self.pass_once = pass_once
        self.interval = interval
        self.name = name
        self._running = True
        self._wakeup = eventlet.Event()

    def run(self) -> None:
        while self._running:
            # A fresh event before the pass: a wake() during the pass is not lost, the
            # wait below returns at once and the next pass picks the new work up.
            self._wakeup = eventlet.Event()
            try:
                done = self.pass_once()
            except Exception as exc:  # broker or database away: try again later
                log.warning(f"{self.name} pass failed", error=short_error(exc))
                done = 0
            if done:
                eventlet.sleep(0)  # let other green threads in between busy passes
                continue
            with eventlet.Timeout(self.interval, False):
                self._wakeup.wait()

    def wake(self) -> None:
        if not self._wakeup.ready():
            self._wakeup.send(True)

    def stop(self) -> None:
        self._running = False
        self.wake()
