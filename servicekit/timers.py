"""A timer whose interval comes from the service's settings when the service starts.

nameko's ``@timer(interval=…)`` reads its interval when the module is imported; a test or an
operator that sets ``BILLING_CLOCK_SECONDS`` (say) after the import would not be heard.
``every(lambda: BillingSettings().clock_seconds)`` reads it again in ``setup``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.timer import Timer


class SettingsTimer(Timer):
    def __init__(self, interval_from: Callable[[], float], **kwargs: Any) -> None:
        self.interval_from = interval_from
        super().__init__(interval=interval_from(), **kwargs)

    def setup(self) -> None:
        self.interval = self.interval_from()


def every(interval_from: Callable[[], float]) -> Any:
    """``@every(lambda: Settings().seconds)``: run the method every so many seconds."""
    return SettingsTimer.decorator(interval_from=interval_from)
