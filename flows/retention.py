"""Retention: private free text doesn't outlive its purpose."""

from __future__ import annotations

from datetime import timedelta

from flows.context import FlowContext


async def purge_due(ctx: FlowContext) -> int:
    """Tick job: check-in notes, review answers and agreements of pairs that ended more than the
    retention period ago (UPWARD_RETENTION_DAYS, default 90) are erased. When a program
    ends, every pair in it has ended, so this covers the program too."""
    cutoff = ctx.now - timedelta(days=ctx.policy.retention_days)
    purged = await ctx.repos.checkins.purge_text_of_pairs_ended_before(cutoff)
    return purged + await ctx.repos.agreements.purge_pairs_ended_before(cutoff)
