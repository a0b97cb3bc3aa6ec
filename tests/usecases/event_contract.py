"""Every event a use-case test makes is checked against the AsyncAPI document.

The use cases run on a real database with the services' own code, and each event they
announce lands in the outbox exactly as it would be published (``UnitOfWork.emit`` builds
the envelope). Before a test's database is thrown away, each of its events is validated
against its message schema in the document (gateway/asyncapi.py): a payload field the
contract does not name, a missing one or a wrong type fails the test that made it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from contracts.event_payloads import EVENT_PAYLOADS, UNENVELOPED
from tests.support.asyncapi import schema_errors

# How many events of each type the tests of this session made (all of them validated).
SEEN: Counter[str] = Counter()

# Types the use-case tests do not make, and why; tests/usecases run as a whole fails when a
# declared type is neither made nor listed here.
NOT_PRODUCED: dict[str, str] = {
    "backup_run_completed": "the backup engine's own message, not published by the suite "
                            "(tests/unit/test_asyncapi_document.py checks its schema is the ingest run's)",
}


def check_events(bodies: list[dict[str, Any]]) -> None:
    problems = []
    for body in bodies:
        SEEN[body["type"]] += 1
        errors = schema_errors(body, body["type"])
        if errors:
            problems.append(f"{body['type']} {body.get('payload')}: {errors}")
    assert not problems, "events that do not conform to docs/asyncapi.json:\n" + "\n".join(problems)


def uncovered() -> list[str]:
    declared = {event.value for event in EVENT_PAYLOADS if event not in UNENVELOPED} | set(NOT_PRODUCED)
    return sorted(declared - set(SEEN) - set(NOT_PRODUCED))
