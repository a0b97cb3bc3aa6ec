"""The runs a batch carries: an ingest call's list, or a backup engine's AMQP message.

The engine publishes on exchange ``engine.events`` (topic, durable), routing key
``backup_run_completed``, a JSON body ``{"runs": [<run>, ...]}`` or one run object, each
run as ``POST /ingest/backup-runs`` takes it (docs/tenancy.md).
"""

from __future__ import annotations

from typing import Any

from contracts.errors import ValidationFailed
from contracts.tenancy import MAX_INGEST_BATCH, BackupRunReport
from servicekit.validation import parse


def parse_runs(runs: Any, field: str = "runs") -> list[BackupRunReport]:
    if not isinstance(runs, list):
        raise ValidationFailed.for_field(field, "must be a list of runs")
    if len(runs) > MAX_INGEST_BATCH:
        raise ValidationFailed.for_field(field, f"at most {MAX_INGEST_BATCH} runs a call")
    return [parse(BackupRunReport, run, prefix=f"{field}.{index}") for index, run in enumerate(runs)]


def engine_runs(body: Any) -> list[BackupRunReport]:
    """The runs of an engine message: ``{"runs": [...]}`` or a single run object."""
    if isinstance(body, dict) and "runs" in body:
        return parse_runs(body["runs"])
    return parse_runs([body])
