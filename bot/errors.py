"""Errors that cross the boundary between the engine and adapters."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base for failures an adapter reports when sending."""


class TransientDeliveryError(DeliveryError):
    """Try again later: rate limited, timeout, 5xx; `retry_after` in seconds if known."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help: the person left, the bot is not installed, the channel is gone.
    `unreachable` names the people (actor keys) the platform says the bot can no longer
    reach at all, so that they are shown to admins rather than retried message by message."""

    def __init__(self, reason: str, *, unreachable: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


class DuplicateRouteError(Exception):
    """Two handlers registered for the same command, action or form id."""


class ConfigurationError(Exception):
    """Settings are missing or contradict each other; the message names them."""
