"""Backup task states. Pure domain code.

A task is added inactive; activating starts it (from inactive or paused); pausing stops
an active task. Asking for the state a task is already in changes nothing.
"""

from __future__ import annotations

from contracts.errors import Conflict
from contracts.tenancy import TaskState

_FROM: dict[TaskState, frozenset[TaskState]] = {
    TaskState.ACTIVE: frozenset({TaskState.INACTIVE, TaskState.PAUSED}),
    TaskState.PAUSED: frozenset({TaskState.ACTIVE}),
    TaskState.INACTIVE: frozenset(),
}


def next_state(current: TaskState, wanted: TaskState) -> TaskState | None:
    """The new state, or None when the task already is in ``wanted``."""
    if current is wanted:
        return None
    if current not in _FROM[wanted]:
        raise Conflict(f"a {current} task cannot be made {wanted}", {"state": current.value})
    return wanted
