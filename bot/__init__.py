"""Upward's engine: the neutral vocabulary, routing, outbox, scheduling and the composition root."""
