"""Backup task states: added inactive, activated, paused, activated again."""

from __future__ import annotations

import pytest

from contracts.errors import Conflict
from contracts.tenancy import TaskState
from services.tenancy.domain.task_states import next_state


def test_an_inactive_or_paused_task_can_be_activated():
    assert next_state(TaskState.INACTIVE, TaskState.ACTIVE) is TaskState.ACTIVE
    assert next_state(TaskState.PAUSED, TaskState.ACTIVE) is TaskState.ACTIVE


def test_an_active_task_can_be_paused():
    assert next_state(TaskState.ACTIVE, TaskState.PAUSED) is TaskState.PAUSED


def test_a_task_never_activated_cannot_be_paused():
    with pytest.raises(Conflict):
        next_state(TaskState.INACTIVE, TaskState.PAUSED)


def test_asking_for_the_current_state_changes_nothing():
    assert next_state(TaskState.ACTIVE, TaskState.ACTIVE) is None
    assert next_state(TaskState.PAUSED, TaskState.PAUSED) is None
