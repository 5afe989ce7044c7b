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


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """`text` (default) or `json` on stderr, for the whole process."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
