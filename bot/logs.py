"""Logging without leaks: errors are recorded by id, type and place, never by message,
because exception text (validators, drivers, SDKs) quotes the data it choked on."""

from __future__ import annotations

import logging
import traceback
import uuid


def log_error(logger: logging.Logger, what: str, exc: BaseException) -> str:
    """Log `what` with a fresh error id, the exception type and innermost file:line."""
    error_id = uuid.uuid4().hex[:8]
    frames = traceback.extract_tb(exc.__traceback__)
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    logger.error("error %s: %s: %s at %s", error_id, what, type(exc).__name__, place)
    return error_id
