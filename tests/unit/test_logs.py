"""Logs: JSON lines when asked, and never an exception's text."""

from __future__ import annotations

import json
import logging
import sys

from bot.logs import JsonFormatter, log_error

SECRET = "my manager shouts at juniors"


def test_json_lines_name_an_exception_by_type_only() -> None:
    try:
        raise ValueError(f"could not parse {SECRET!r}")
    except ValueError:
        record = logging.LogRecord(
            "upward.test", logging.ERROR, __file__, 1, "sending failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["message"] == "sending failed"
    assert entry["exception"] == "ValueError" and SECRET not in line


def test_log_error_records_an_id_type_and_place_only(caplog) -> None:  # type: ignore[no-untyped-def]
    try:
        raise RuntimeError(SECRET)
    except RuntimeError as exc:
        error_id = log_error(logging.getLogger("upward.test"), "doing a thing", exc)
    assert error_id in caplog.text and "RuntimeError" in caplog.text
    assert SECRET not in caplog.text


def test_one_line_names_the_type_and_never_the_text_or_traceback() -> None:
    from bot.logs import OneLine

    try:
        raise ConnectionResetError(f"peer sent {SECRET!r}")
    except ConnectionResetError:
        record = logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Error handling %s",
            ("x",),
            sys.exc_info(),
        )
    assert OneLine().filter(record)
    assert record.exc_info is None and record.levelno == logging.WARNING
    assert record.getMessage() == "Error handling x: ConnectionResetError"
    formatted = logging.Formatter().format(record)
    assert SECRET not in formatted and "Traceback" not in formatted
