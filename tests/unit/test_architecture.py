"""The dependency rule from DESIGN.md, checked on the source: imports point down only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "botbuilder", "botframework")
NEUTRAL = {"bot.events", "bot.messages", "bot.ports", "bot.errors", "bot.commands"}


def imports(folder: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(REPO)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(REPO)), node.module))
    return found


def ours(module: str) -> str | None:
    top = module.split(".")[0]
    return top if top in {"bot", "flows", "storage", "adapters"} else None


@pytest.mark.parametrize("folder", ["flows", "storage", "bot"])
def test_no_platform_sdk_outside_adapters(folder: str) -> None:
    leaks = [(f, m) for f, m in imports(folder) if m.split(".")[0] in PLATFORM_SDKS]
    assert leaks == []


def test_storage_imports_nothing_of_ours() -> None:
    assert [(f, m) for f, m in imports("storage") if ours(m) not in (None, "storage")] == []


def test_flows_import_only_storage_and_the_neutral_vocabulary() -> None:
    allowed = NEUTRAL | {"bot.timing", "bot.clock"}
    bad = [
        (f, m)
        for f, m in imports("flows")
        if ours(m) == "adapters" or (ours(m) == "bot" and m not in allowed)
    ]
    assert bad == []


def test_adapters_import_only_the_neutral_vocabulary() -> None:
    bad = [
        (f, m)
        for f, m in imports("adapters")
        if ours(m) in ("flows", "storage") or (ours(m) == "bot" and m not in NEUTRAL)
    ]
    assert bad == []


def test_the_vocabulary_imports_only_stdlib_and_pydantic() -> None:
    for name in ("events", "messages"):
        modules = {m for f, m in imports("bot") if f == f"bot/{name}.py"}
        assert {m.split(".")[0] for m in modules} <= {"__future__", "typing", "pydantic", "bot"}
        assert {m for m in modules if m.startswith("bot")} <= {"bot.events"}


NEVER_DELETED = {"Pair", "Participant"}  # pairprompt refers to them without foreign keys
RAW_DELETE = re.compile(r"delete\s+from\s+\"?(pair|participant)\b", re.IGNORECASE)
# A variable that holds one: `pair`, `old_pair`, `participant`, `mentor`, `me.participant` …
A_PAIR_OR_PARTICIPANT = re.compile(r"(^|_)(pair|participant|member|mentor|mentee|me)$")


def _deletes_one(node: ast.Call) -> bool:
    """`delete(Pair)` / `sa.delete(Participant)` (a bulk delete of the table), or
    `session.delete(pair)` (an ORM delete of one that looks like a pair or a participant)."""
    name = getattr(node.func, "id", getattr(node.func, "attr", None))
    if name != "delete" or len(node.args) != 1:
        return False
    arg = node.args[0]
    named = getattr(arg, "id", getattr(arg, "attr", ""))
    if named[:1].isupper():  # a table: only the two that must stay
        return named in NEVER_DELETED
    return bool(A_PAIR_OR_PARTICIPANT.search(named))


def test_pairs_and_participants_are_never_deleted() -> None:
    """Erasure keeps a tombstone; migration 0012 relies on no row of either going."""
    deletes = []
    for folder in ("storage", "flows", "bot", "adapters"):
        for path in sorted((REPO / folder).rglob("*.py")):
            source = path.read_text()
            where = path.relative_to(REPO)
            calls = [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)]
            deletes += [f"{where}:{call.lineno}" for call in calls if _deletes_one(call)]
            deletes += [f"{where}: {m[0]}" for m in RAW_DELETE.finditer(source)]
    assert deletes == []


def test_the_guard_above_sees_each_kind_of_delete() -> None:
    for code in (
        "delete(Pair)",
        "sa.delete(Participant)",
        "await s.delete(pair)",
        "s.delete(me.participant)",
    ):
        [call] = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call) and n.args]
        assert _deletes_one(call), code
    for code in ("s.delete(person)", "delete(PairAgreement)", "delete(CircleMember)"):
        [call] = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call) and n.args]
        assert not _deletes_one(call), code
    assert RAW_DELETE.search('DELETE FROM "participant" WHERE id = 1')
