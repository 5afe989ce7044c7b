"""Logging without leaks: errors are recorded by id, type and place, never by message,
because exception text (validators, drivers, SDKs) quotes the data it choked on."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from datetime import UTC, datetime


def log_error(logger: logging.Logger, what: str, exc: BaseException) -> str:
    """Log `what` with a fresh error id, the exception type and innermost file:line."""
    error_id = uuid.uuid4().hex[:8]
    frames = traceback.extract_tb(exc.__traceback__)
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    logger.error("error %s: %s: %s at %s", error_id, what, type(exc).__name__, place)
    return error_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log pipelines. An exception is named by its type only:
    its text (and traceback locals) could quote what someone wrote."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


# aiohttp's own loggers: the server logs a malformed request (a 10 KB header, a bad chunk)
# or a client that went away at ERROR, with a traceback whose text quotes the raw request.
AIOHTTP_LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.internal",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
)
# Exceptions that say the client sent something malformed, or went away: its business, not
# ours, so never above WARNING. Matched by name along the exception's class hierarchy, so
# that bot/ needs no aiohttp import.
CLIENT_TROUBLE = frozenset(
    {
        "HttpProcessingError",  # BadHttpMessage, LineTooLong, BadStatusLine, …
        "ConnectionError",  # ConnectionResetError, ClientConnectionResetError, …
        "ClientPayloadError",
        "IncompleteReadError",
        "PayloadEncodingError",
        "ContentLengthError",
        "TransferEncodingError",
        "CancelledError",
        "TimeoutError",
    }
)


class OneLine(logging.Filter):
    """Any record carrying an exception becomes one line naming its type (and, for our own
    errors, the innermost place): no traceback, no exception text, which could quote a
    request or what someone wrote. A client's malformed request or disconnect is at most a
    WARNING. Installed on aiohttp's loggers and on the process's log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None and not record.exc_text and not record.stack_info:
            return True
        if exc is not None:
            names = {k.__name__ for k in type(exc).__mro__}
            what = f"{record.getMessage()}: {type(exc).__name__}"
            if names & CLIENT_TROUBLE:
                if record.levelno > logging.WARNING:
                    record.levelno, record.levelname = logging.WARNING, "WARNING"
            elif frames := traceback.extract_tb(exc.__traceback__):
                what += f" at {frames[-1].filename}:{frames[-1].lineno}"
            record.msg, record.args = what, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_libraries() -> None:
    """OneLine on aiohttp's loggers (once, however often it is called)."""
    for name in AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneLine) for f in logger.filters):
            logger.addFilter(OneLine())


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """`text` (default) or `json` on stderr, for the whole process; every record one line."""
    quiet_libraries()
    handler = logging.StreamHandler()
    handler.addFilter(OneLine())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
