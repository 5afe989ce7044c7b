"""Optimal matching at company scale: time, memory, quality against baselines, violations.

What it measures
    ``flows.matching.solver.solve`` on seeded, realistic pools of 1,000 / 5,000 / 10,000
    participants: half mentors (junior, levels 1-3), the rest mentees (levels 3-8) with a
    few two-way people; topics from the sample program with skewed popularity; an org chart
    (departments, job levels, a manager for everyone, so reporting lines reach through people
    who are not in the program); office time zones that teams mostly share; confidential
    exclusions, past partners from an earlier round and a few prioritised people.

    For every size, in a fresh child process (so memory figures start clean):

    * wall time of ``solve`` and where it went (building the pair table / LP relaxations /
      assignments / MILP), timed by wrapping the solver module's ``feasible_pairs``,
      ``linprog``, ``min_weight_full_bipartite_matching`` and ``milp`` at run time (no
      flows/ code is changed);
    * peak memory: the child's peak RSS (``ru_maxrss``) and its growth during ``solve``;
      this includes HiGHS's own allocations, which tracemalloc cannot see;
    * total score, and whether it is proven optimal or how far from the optimum it can
      be at most (``MatchResult.gap``: the distance to the LP bound when the final MILP
      is too big to run);
    * total score and pair count against a greedy baseline (repeatedly take the best
      remaining edge that still fits) and a random maximal pairing (feasible edges in
      random order, taken while they fit), both over the same feasible edges (the
      solver's pair table);
    * constraint violations, checked independently on every output pair: the solver's own
      ``rejection_reason`` plus separate checks of seniority, reporting line (manager and
      skip-level, both ways), exclusions, past partners, a shared topic and at least one
      hour of working-time overlap, and the matching's structure (each mentee once, mentor
      capacity, a two-way person in one role, no pair twice, the scores as reported).
      Expected: 0.

Target
    5,000 participants in under 10 s and under 1 GB.

Reproduce
    .venv/bin/python bench/matching.py                          # 1,000 and 5,000
    .venv/bin/python bench/matching.py --sizes 5000 --timeout 0 # 5,000 to the end, however long
    .venv/bin/python bench/matching.py --sizes 1000,5000,10000 --timeout 0 --max-memory 16
    .venv/bin/python bench/matching.py --sizes 1000 --profile   # plus a cProfile of the solve
    Other options: --two-way FRACTION (default 0.05), --seed N.

    A size still running after --timeout seconds (default 150, which keeps the default run
    under about three minutes) or above --max-memory GiB (default 8, to protect the machine)
    is stopped and reported as not finished, with the phases it got through. 10,000 is left
    out of the default sizes because it cannot finish in that budget; ask for it with
    --sizes. Pools are seeded: the same options give the same pools and matchings.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import random
import resource
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flows.matching import solver
from flows.matching.pairs import PairTable
from flows.matching.solver import Candidate, MatchResult, rejection_reason, solve
from flows.programs import SAMPLE_PROGRAM, read_program_file

AT = datetime(2027, 1, 4, 12, tzinfo=UTC)  # a Monday in January (no DST anywhere north)
TARGET_SIZE, TARGET_SECONDS, TARGET_BYTES = 5_000, 10.0, 1 << 30
DEFAULT_SIZES = (1_000, 5_000)
DEFAULT_TIMEOUT = 150.0  # per size: keeps the default run under three minutes
TENANT = "slack:T1"
MIN_OVERLAP_HOURS = 1.0  # solver.Weights().min_overlap_hours, restated for the checks
REPORTING_DEPTH = 2  # manager and skip-level
ASSIGNMENT = "min_weight_full_bipartite_matching"
PHASES = ("feasible_pairs", "linprog", ASSIGNMENT, "milp")  # solver module attributes

DEPARTMENTS = {  # relative head-count
    "engineering": 30,
    "sales": 18,
    "operations": 16,
    "customer_support": 12,
    "marketing": 8,
    "finance": 6,
    "people": 5,
    "legal": 3,
}
# Share of employees at each job level (1 = most junior); 8 is the chief executive.
LEVEL_SHARE = {1: 0.38, 2: 0.26, 3: 0.16, 4: 0.10, 5: 0.06, 6: 0.03, 7: 0.01}
OFFICES = {  # offices by share of staff
    "Europe/London": 24,
    "America/New_York": 18,
    "Europe/Berlin": 12,
    "Asia/Kolkata": 12,
    "America/Chicago": 7,
    "America/Los_Angeles": 7,
    "Europe/Madrid": 5,
    "Asia/Singapore": 5,
    "America/Sao_Paulo": 4,
    "Australia/Sydney": 3,
    "Asia/Tokyo": 3,
}
SAME_OFFICE_AS_MANAGER = 0.75
EMPLOYEES_PER_PARTICIPANT = 6  # the program is a sixth of the company

# What juniors tend to offer and seniors tend to want, and the other way round: weights over
# the sample program's topics (ids checked against the file at start-up).
JUNIOR_OFFERS = {
    "ai_tools": 9,
    "social_media": 8,
    "generational_perspectives": 7,
    "front_line_experience": 6,
    "customer_insight": 5,
    "collaboration_tools": 5,
    "hybrid_work": 4,
    "data_literacy": 4,
    "diversity_inclusion": 3,
    "accessibility": 2,
    "wellbeing": 3,
    "cybersecurity": 2,
    "feedback_culture": 2,
    "decision_making": 1,
    "career_growth": 1,
}
SENIOR_OFFERS = {
    "career_growth": 9,
    "decision_making": 8,
    "feedback_culture": 5,
    "customer_insight": 4,
    "data_literacy": 3,
    "hybrid_work": 3,
    "wellbeing": 3,
    "diversity_inclusion": 2,
    "cybersecurity": 2,
    "collaboration_tools": 2,
    "front_line_experience": 1,
    "accessibility": 1,
    "ai_tools": 1,
    "social_media": 1,
    "generational_perspectives": 1,
}


# --- the pool ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Employee:
    key: str
    level: int
    department: str
    timezone: str


@dataclass(frozen=True)
class Pool:
    candidates: list[Candidate]
    managers: dict[str, str | None]
    employees: int


def weighted(rng: random.Random, weights: Mapping[str, float], k: int) -> frozenset[str]:
    """``k`` distinct items, drawn by weight."""
    names, chosen = list(weights), set()
    while len(chosen) < k:
        chosen.add(rng.choices(names, weights=[weights[n] for n in names])[0])
    return frozenset(chosen)


def org_chart(size: int, rng: random.Random) -> tuple[list[Employee], dict[str, str | None]]:
    """A company of ``size * EMPLOYEES_PER_PARTICIPANT`` people: one chief executive (level
    8), a head per department (7) and, below, each person reporting to someone one level up
    in their department (one in ten to someone two levels up). Most people sit in their
    manager's office."""
    headcount = size * EMPLOYEES_PER_PARTICIPANT
    ceo = Employee(f"{TENANT}:E0", 8, "executive", "Europe/London")
    people, managers = [ceo], {ceo.key: None}
    by_level: dict[tuple[str, int], list[Employee]] = defaultdict(list)
    total_weight = sum(DEPARTMENTS.values())
    for department, weight in DEPARTMENTS.items():
        staff = headcount * weight // total_weight
        head = Employee(f"{TENANT}:E{len(people)}", 7, department, weighted_zone(rng))
        people.append(head)
        managers[head.key] = ceo.key
        by_level[department, 7].append(head)
        for level in range(6, 0, -1):
            count = max(1, round(staff * LEVEL_SHARE[level]))
            for _ in range(count):
                above = by_level[department, level + 1]
                if level <= 5 and rng.random() < 0.1:
                    above = by_level[department, level + 2]
                boss = rng.choice(above)
                zone = boss.timezone if rng.random() < SAME_OFFICE_AS_MANAGER else None
                person = Employee(
                    f"{TENANT}:E{len(people)}", level, department, zone or weighted_zone(rng)
                )
                people.append(person)
                managers[person.key] = boss.key
                by_level[department, level].append(person)
    return people, managers


def weighted_zone(rng: random.Random) -> str:
    return rng.choices(list(OFFICES), weights=list(OFFICES.values()))[0]


def make_pool(size: int, *, two_way: float, seed: int) -> Pool:
    """``size`` participants from the org chart: half mentors from levels 1-3 (juniors more
    likely), the rest mentees from levels 3-8 (seniors more likely), of whom a fraction
    ``two_way`` (taken from both sides) chose two-way."""
    rng = random.Random(seed)
    people, managers = org_chart(size, rng)
    junior = [p for p in people if p.level <= 3]
    senior = [p for p in people if p.level >= 3]
    mentors = sample_weighted(rng, junior, lambda p: 4 - p.level, size // 2, taken=set())
    taken = {p.key for p in mentors}
    mentees = sample_weighted(rng, senior, lambda p: p.level - 2, size - len(mentors), taken)
    everyone = [(p, "mentor") for p in mentors] + [(p, "mentee") for p in mentees]
    rng.shuffle(everyone)
    keys = [p.key for p, _ in everyone]
    by_key = {p.key: p for p in people}
    candidates = []
    for i, (employee, side) in enumerate(everyone):
        role = "two_way" if rng.random() < two_way else side
        candidates.append(candidate(i, employee, role, side, keys, by_key, managers, rng))
    return Pool(candidates, managers, len(people))


def sample_weighted(
    rng: random.Random,
    people: Sequence[Employee],
    weight: Callable[[Employee], float],
    k: int,
    taken: set[str],
) -> list[Employee]:
    """``k`` distinct people not in ``taken``, drawn by weight (Efraimidis-Spirakis keys)."""
    keyed = sorted(
        ((rng.random() ** (1 / weight(p)), p) for p in people if p.key not in taken),
        key=lambda pair: pair[0],
        reverse=True,
    )
    if len(keyed) < k:
        raise ValueError(f"the org chart has only {len(keyed)} people for {k} places")
    return [p for _, p in keyed[:k]]


def candidate(
    i: int,
    employee: Employee,
    role: str,
    side: str,
    keys: Sequence[str],
    by_key: Mapping[str, Employee],
    managers: Mapping[str, str | None],
    rng: random.Random,
) -> Candidate:
    junior = side == "mentor"
    offers = weighted(rng, JUNIOR_OFFERS if junior else SENIOR_OFFERS, rng.randint(2, 4))
    wants = weighted(rng, SENIOR_OFFERS if junior else JUNIOR_OFFERS, rng.randint(1, 3))
    off_limits = (
        weighted(rng, JUNIOR_OFFERS, 1) - offers - wants if rng.random() < 0.05 else frozenset()
    )
    excluded: set[str] = set()
    if rng.random() < 0.03:  # someone to avoid: usually a colleague close by
        boss = managers.get(employee.key)
        near = [k for k in keys if boss and managers.get(k) == boss and k != employee.key]
        excluded.add(rng.choice(near) if near and rng.random() < 0.5 else rng.choice(keys))
    past = {rng.choice(keys)} if rng.random() < 0.15 else set()
    return Candidate(
        id=1000 + i,
        person=employee.key,
        role=role,  # type: ignore[arg-type]
        offers=offers,
        wants=wants,
        off_limits=frozenset(off_limits),
        timezone=employee.timezone,
        level=employee.level if rng.random() < 0.97 else None,  # a few missing from the roster
        department=employee.department,
        excluded=frozenset(excluded - {employee.key}),
        past_partners=frozenset(past - {employee.key}),
        capacity=1,  # the sample program's mentor_capacity
        priority=rng.random() < 0.03,
    )


# --- baselines --------------------------------------------------------------------------------


class Fit:
    """Who is still free: the solver's rules, kept incrementally."""

    def __init__(self, pool: Sequence[Candidate]) -> None:
        self.capacity = {c.id: c.capacity for c in pool}
        self.mentored: set[int] = set()
        self.mentoring: Counter[int] = Counter()
        self.pairs: set[frozenset[int]] = set()

    def take(self, mentee: int, mentor: int) -> bool:
        if mentee in self.mentored or mentee in self.mentoring:
            return False
        if mentor in self.mentored or self.mentoring[mentor] >= self.capacity[mentor]:
            return False
        if frozenset((mentee, mentor)) in self.pairs:
            return False
        self.mentored.add(mentee)
        self.mentoring[mentor] += 1
        self.pairs.add(frozenset((mentee, mentor)))
        return True


Edges = list[tuple[int, int, float]]
"""(mentee id, mentor id, score) of every feasible pair, in (mentee id, mentor id) order."""


def edge_list(table: PairTable) -> Edges:
    mentees = [c.id for c in table.mentees]
    mentors = [c.id for c in table.mentors]
    return [
        (mentees[r], mentors[c], s)
        for r, c, s in zip(
            table.row.tolist(), table.col.tolist(), table.score.tolist(), strict=True
        )
    ]


def greedy(pool: Sequence[Candidate], edges: Edges) -> Edges:
    """Repeatedly the best remaining edge that still fits (ties: lowest ids first)."""
    fit = Fit(pool)
    ordered = sorted(edges, key=lambda e: (-e[2], e[0], e[1]))
    return [e for e in ordered if fit.take(e[0], e[1])]


def random_pairing(pool: Sequence[Candidate], edges: Edges, seed: int) -> Edges:
    """Feasible edges in random order, each taken while it fits: a random maximal matching."""
    fit = Fit(pool)
    shuffled = list(edges)
    random.Random(seed).shuffle(shuffled)
    return [e for e in shuffled if fit.take(e[0], e[1])]


# --- independent checks -----------------------------------------------------------------------


def _offset_hours(zone: str) -> float:
    offset = AT.astimezone(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


def overlap_hours(zone_a: str, zone_b: str, start: int = 9, end: int = 17) -> float:
    """Shared hours of two local [start, end) days, on the UTC axis, a day either way."""
    a0 = start - _offset_hours(zone_a)
    best = 0.0
    for shift in (-24, 0, 24):
        b0 = start - _offset_hours(zone_b) + shift
        best = max(best, min(a0, b0) + (end - start) - max(a0, b0))
    return best


def chain(person: str, managers: Mapping[str, str | None]) -> list[str]:
    up, current = [], person
    for _ in range(REPORTING_DEPTH):
        current = managers.get(current)  # type: ignore[assignment]
        if not current or current in up or current == person:
            break
        up.append(current)
    return up


def violations(
    pool: Sequence[Candidate], managers: Mapping[str, str | None], result: MatchResult
) -> Counter[str]:
    """Every broken rule in ``result``, counted by kind; empty when the matching is valid."""
    by_id = {c.id: c for c in pool}
    found: Counter[str] = Counter()
    as_mentee: Counter[int] = Counter()
    as_mentor: Counter[int] = Counter()
    seen: set[frozenset[int]] = set()
    for m in result.matches:
        mentee, mentor = by_id.get(m.mentee_id), by_id.get(m.mentor_id)
        if mentee is None or mentor is None or mentee.id == mentor.id:
            found["unknown or same person"] += 1
            continue
        reason = rejection_reason(mentee, mentor, managers=managers, at=AT)
        if reason is not None:
            found[f"rejection_reason: {reason}"] += 1
        two_way = "two_way" in (mentee.role, mentor.role)
        if mentee.role == "mentor" or mentor.role == "mentee":
            found["role"] += 1
        known = mentee.level is not None and mentor.level is not None
        if not two_way and known and mentor.level >= mentee.level:  # type: ignore[operator]
            found["seniority"] += 1
        if mentor.person in chain(mentee.person, managers) or mentee.person in chain(
            mentor.person, managers
        ):
            found["reporting line"] += 1
        if mentor.person in mentee.excluded or mentee.person in mentor.excluded:
            found["exclusion"] += 1
        if mentor.person in mentee.past_partners or mentee.person in mentor.past_partners:
            found["past partner"] += 1
        topics = mentee.wants & mentor.offers
        if two_way:
            topics |= mentor.wants & mentee.offers
        topics -= mentee.off_limits | mentor.off_limits
        if not topics or set(m.shared_topics) != topics:
            found["shared topic"] += 1
        if overlap_hours(mentee.timezone, mentor.timezone) < MIN_OVERLAP_HOURS:
            found["time-zone overlap"] += 1
        expected = solver.edge(mentee, mentor, managers=managers, at=AT)
        if expected is None or abs(expected.score - m.score) > 1e-6:
            found["score as reported"] += 1
        as_mentee[mentee.id] += 1
        as_mentor[mentor.id] += 1
        pair = frozenset((mentee.id, mentor.id))
        found["same pair twice"] += pair in seen
        seen.add(pair)
    found["mentee more than once"] += sum(1 for n in as_mentee.values() if n > 1)
    found["over capacity"] += sum(1 for i, n in as_mentor.items() if n > by_id[i].capacity)
    found["mentor and mentee at once"] += len(set(as_mentee) & set(as_mentor))
    if abs(sum(m.score for m in result.matches) - result.total_score) > 1e-4:
        found["total score"] += 1
    matched = set(as_mentee) | set(as_mentor)
    if set(result.unmatched) != set(by_id) - matched:
        found["unmatched list"] += 1
    return +found  # drop zero counts


# --- one size, in a child process -----------------------------------------------------------


class Stopwatch:
    """Wraps the solver module's phases (module attributes, replaced at run time)."""

    def __init__(self) -> None:
        self.origin = time.perf_counter()
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.table: PairTable | None = None

    def install(self) -> None:
        for name in PHASES:
            setattr(solver, name, self._timed(name, getattr(solver, name)))

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            print(f"phase {name} started at {started - self.origin:.1f} s", file=sys.stderr)
            try:
                result = function(*args, **kwargs)
            finally:
                took = time.perf_counter() - started
                self.seconds[name] += took
                self.calls[name] += 1
                print(f"phase {name} took {took:.1f} s", file=sys.stderr, flush=True)
            if name == "feasible_pairs":
                self.table = result  # kept for the baselines (solve holds it anyway)
            return result

        return timed


def max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def run_one(size: int, two_way: float, seed: int, profile: bool) -> dict[str, Any]:
    pool = make_pool(size, two_way=two_way, seed=seed)
    roles = Counter(c.role for c in pool.candidates)
    watch = Stopwatch()
    watch.install()
    print(f"phase pool built ({len(pool.candidates)} people)", file=sys.stderr, flush=True)
    rss_before = max_rss_bytes()
    profiler = cProfile.Profile() if profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    result = solve(pool.candidates, managers=pool.managers, at=AT, seed=seed)
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss_peak = max_rss_bytes()
    assert watch.table is not None
    edges = edge_list(watch.table)
    mentees = sum(1 for c in pool.candidates if c.role in solver.MENTEE_ROLES)
    mentors = sum(1 for c in pool.candidates if c.role in solver.MENTOR_ROLES)
    by_greedy = greedy(pool.candidates, edges)
    by_chance = random_pairing(pool.candidates, edges, seed)
    report: dict[str, Any] = {
        "size": size,
        "roles": dict(roles),
        "employees": pool.employees,
        "possible_pairs": mentees * mentors,
        "edges": len(edges),
        "wall": wall,
        "cpu": cpu,
        "phases": dict(watch.seconds),
        "calls": dict(watch.calls),
        "rss_before": rss_before,
        "rss_peak": rss_peak,
        "pairs": len(result.matches),
        "score": result.total_score,
        "gap": result.gap,
        "greedy_pairs": len(by_greedy),
        "greedy_score": sum(e[2] for e in by_greedy),
        "random_pairs": len(by_chance),
        "random_score": sum(e[2] for e in by_chance),
        "violations": dict(violations(pool.candidates, pool.managers, result)),
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
        stats.print_stats(15)
        report["profile"] = out.getvalue()
    return report


def rss_of(pid: int) -> int:
    """Current resident memory of a process, in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def child(size: int, args: argparse.Namespace) -> dict[str, Any] | str:
    """One size in a fresh interpreter: its JSON report, or why there is none. The child is
    stopped past --timeout seconds or --max-memory GiB, and we say which phase it was in."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(size),
        "--two-way",
        str(args.two_way),
        "--seed",
        str(args.seed),
        *(["--profile"] if args.profile else []),
    ]
    process = subprocess.Popen(  # noqa: S603 - this very script, with our own arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    progress: list[str] = []
    output: list[str] = []
    readers = [
        threading.Thread(target=lambda: progress.extend(process.stderr), daemon=True),  # type: ignore[arg-type]
        threading.Thread(target=lambda: output.extend(process.stdout), daemon=True),  # type: ignore[arg-type]
    ]
    for reader in readers:
        reader.start()
    started, peak, stopped = time.perf_counter(), 0, ""
    while process.poll() is None:
        peak = max(peak, rss_of(process.pid))
        elapsed = time.perf_counter() - started
        if args.timeout and elapsed > args.timeout:
            stopped = f"did not finish within {args.timeout:.0f} s"
        elif peak > args.max_memory * 2**30:
            stopped = f"went over {args.max_memory:g} GiB of memory"
        if stopped:
            process.kill()
            break
        time.sleep(0.2)
    process.wait()
    for reader in readers:
        reader.join(timeout=5)
    if stopped:
        phases = "; ".join(line.strip() for line in progress if line.startswith("phase"))
        return (
            f"{stopped} (stopped; peak RSS seen {peak / 2**30:.1f} GiB). "
            f"Progress: {phases or 'building the pool'}"
        )
    if process.returncode != 0:
        tail = [line.strip() for line in progress[-3:]]
        return f"failed (exit {process.returncode}): " + " | ".join(tail)
    return json.loads(output[-1])


# --- report -----------------------------------------------------------------------------------


def show(report: dict[str, Any]) -> None:
    size, wall = report["size"], report["wall"]
    roles = ", ".join(f"{n} {r}" for r, n in sorted(report["roles"].items()))
    phases = report["phases"]
    other = wall - sum(phases.values())
    grew = (report["rss_peak"] - report["rss_before"]) / 2**20
    print(f"\n{size:,} participants ({roles}; org chart of {report['employees']:,})")
    print(
        f"  feasible pairs   {report['edges']:,} of {report['possible_pairs']:,} "
        f"({report['edges'] / max(1, report['possible_pairs']):.0%})"
    )
    print(f"  wall time        {wall:8.2f} s   (CPU {report['cpu']:.2f} s, all threads)")
    print(
        f"    of which       pairs {phases.get('feasible_pairs', 0):.2f} s"
        f" + LP {phases.get('linprog', 0):.2f} s ({report['calls'].get('linprog', 0)} calls)"
        f" + assignment {phases.get(ASSIGNMENT, 0):.2f} s"
        f" ({report['calls'].get(ASSIGNMENT, 0)} calls)"
        f" + MILP {phases.get('milp', 0):.2f} s ({report['calls'].get('milp', 0)} calls)"
        f" + other {other:.2f} s"
    )
    print(
        f"  peak memory      {report['rss_peak'] / 2**20:8.0f} MiB RSS "
        f"(+{grew:.0f} MiB during solve)"
    )
    score, greedy_score, random_score = (
        report["score"],
        report["greedy_score"],
        report["random_score"],
    )
    gap = report["gap"]
    proof = (
        "proven optimal"
        if gap == 0
        else f"proven within {gap:.4f} of the optimum ({gap / max(score, 1e-9):.1e} of it)"
    )
    print(f"  solver           {report['pairs']:6,} pairs, total score {score:12,.1f}   {proof}")
    print(
        f"  greedy           {report['greedy_pairs']:6,} pairs, total score "
        f"{greedy_score:12,.1f}   solver/greedy {score / max(greedy_score, 1e-9):.4f}"
    )
    print(
        f"  random maximal   {report['random_pairs']:6,} pairs, total score "
        f"{random_score:12,.1f}   solver/random {score / max(random_score, 1e-9):.4f}"
    )
    broken = report["violations"]
    print(
        f"  violations       {sum(broken.values())}"
        + (f"  {broken}" if broken else "  (every pair re-checked independently)")
    )
    if size == TARGET_SIZE:
        met = wall < TARGET_SECONDS and report["rss_peak"] < TARGET_BYTES
        print(
            f"  target {TARGET_SECONDS:.0f} s and 1 GiB: {'met' if met else 'MISSED'} "
            f"(time ratio {wall / TARGET_SECONDS:.2f}, "
            f"memory ratio {report['rss_peak'] / TARGET_BYTES:.2f})"
        )
    if "profile" in report:
        print("\n  cProfile of solve (by own time):")
        print("\n".join("    " + line for line in report["profile"].strip().splitlines()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated pool sizes (default: %(default)s; add 10000 for the largest)",
    )
    parser.add_argument("--two-way", type=float, default=0.05, help="share choosing two-way")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds allowed per size, 0 = no limit (default: %(default)s)",
    )
    parser.add_argument(
        "--max-memory",
        type=float,
        default=8.0,
        help="GiB a size may use before it is stopped (default: %(default)s)",
    )
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each solve")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(run_one(args.child, args.two_way, args.seed, args.profile)))
        return

    program_topics = set(read_program_file(SAMPLE_PROGRAM).topics)
    assert set(JUNIOR_OFFERS) == set(SENIOR_OFFERS) == program_topics
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(
        f"Optimal matching with flows.matching.solver.solve at {AT:%Y-%m-%d %H:%M} UTC "
        f"(seed {args.seed}, two-way share {args.two_way:.0%}); each size in a fresh process."
    )
    for size in sizes:
        started = time.perf_counter()
        report = child(size, args)
        if isinstance(report, str):
            print(f"\n{size:,} participants: {report} after {time.perf_counter() - started:.0f} s")
            if size == TARGET_SIZE:
                print(f"  target {TARGET_SECONDS:.0f} s and 1 GiB: MISSED")
            continue
        show(report)


if __name__ == "__main__":
    main()
