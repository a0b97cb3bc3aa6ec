import json
import logging

import structlog

from servicekit.logging import REDACTED, configure_logging, get_logger


def test_log_lines_are_json_with_the_service_and_bound_context(capsys):
    configure_logging("identity", force=True)
    structlog.contextvars.bind_contextvars(correlation_id="abc-123")
    try:
        get_logger("test").info("signed in", user_id="u1")
    finally:
        structlog.contextvars.clear_contextvars()

    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "signed in"
    assert line["service"] == "identity"
    assert line["correlation_id"] == "abc-123"


def test_secrets_never_reach_a_log_line(capsys):
    configure_logging("identity", force=True)

    get_logger("test").info("attempt", password="hunter22", totp_code="123456", card_number="4242")
    logging.getLogger("plain").info("stdlib lines are JSON too")

    out = capsys.readouterr().out
    assert "hunter22" not in out and "123456" not in out and "4242" not in out
    first = json.loads(out.strip().splitlines()[0])
    assert first["password"] == REDACTED
    assert json.loads(out.strip().splitlines()[1])["event"] == "stdlib lines are JSON too"
