"""What makes a password acceptable (NIST SP 800-63B style). Pure domain code.

Length 8-256, no composition rules; refused when it is common or easily guessed
(zxcvbn) or built on the user's own email address.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from zxcvbn import zxcvbn

from contracts.errors import ValidationFailed

MIN_LENGTH = 8
MAX_LENGTH = 256
MIN_SCORE = 2  # zxcvbn 0-4; below 2 is guessable with fewer than 10^6-10^8 attempts
ANALYSED_LENGTH = 100  # zxcvbn's time grows fast with length; a longer tail only adds strength
MIN_PERSONAL_LENGTH = 4  # shorter local parts ("jo") would refuse half the dictionary
COMMON_DICTIONARY = "passwords"

# zxcvbn installs the user inputs in a module-wide dictionary before matching: one
# analysis at a time, or two requests could see each other's inputs.
_zxcvbn_lock = threading.Lock()


def password_problem(password: str, user_inputs: Sequence[str] = ()) -> str | None:
    """Why ``password`` is refused, in words for the user; None when it is acceptable.

    ``user_inputs`` are the user's own details (email address, name): zxcvbn scores them
    as known words, and a password containing the local part of an email among them is
    refused outright.
    """
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    personal = {value.strip().lower() for value in user_inputs if value.strip()}
    email_locals = _email_local_parts(personal)
    lowered = password.lower()
    if any(local in lowered for local in email_locals if len(local) >= MIN_PERSONAL_LENGTH):
        return "must not contain your email address"
    with _zxcvbn_lock:
        result = zxcvbn(
            password[:ANALYSED_LENGTH], user_inputs=sorted(personal | email_locals), max_length=ANALYSED_LENGTH
        )
    sequence = result["sequence"]
    whole_is_common = (
        len(sequence) == 1
        and sequence[0]["pattern"] == "dictionary"
        and sequence[0].get("dictionary_name") == COMMON_DICTIONARY
    )
    if result["score"] >= MIN_SCORE and not whole_is_common:
        return None
    feedback = result["feedback"]
    if feedback["warning"]:
        return str(feedback["warning"])
    if whole_is_common:
        return "is a commonly used password"
    hint = f": {feedback['suggestions'][0]}" if feedback["suggestions"] else ""
    return f"is too easy to guess{hint}"


def check_password(password: str, field: str = "password", user_inputs: Sequence[str] = ()) -> None:
    """Raise :class:`ValidationFailed` on ``field`` when :func:`password_problem` finds one."""
    problem = password_problem(password, user_inputs)
    if problem is not None:
        raise ValidationFailed.for_field(field, problem)


def _email_local_parts(inputs: set[str]) -> set[str]:
    return {value.partition("@")[0] for value in inputs if "@" in value}
