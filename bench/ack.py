"""Ack latency of `upward serve` for signed Slack requests, against a bare bolt app.

What it measures
    p50 / p99 latency of two signed Slack requests POSTed to /slack/events:

    * ``/mentoring status`` (a slash command; Upward acks first, then answers on the
      ``response_url``, so its background work competes with the next requests), and
    * the join modal's ``view_submission`` from someone new (Upward checks the answers,
      reading only, and acks; then it stores the participant, DMs a welcome and publishes
      App Home, two joins at a time, so that work competes with the next requests).

    Each kind is sent open loop at a fixed rate (default 50 req/s for 20 s, after 1 s of
    warm-up): request i leaves at start + i/rate whether or not earlier ones were answered,
    and its latency runs from that scheduled moment until the whole response is read, so a
    stall is never hidden by back-pressure. Signed bodies are built like the e2e tests'
    (tests/fakes/slack_api.py), with the signature made at send time.

    Three processes: this one is the client (one aiohttp session); a second serves the
    loopback FakeSlack Web API; a third is the server under test, on a real 127.0.0.1 port
    with aiohttp's AppRunner/TCPSite (access log off, warnings and errors to a log file):

    * upward: ``bot.server.build_web_app(build_app(settings))``, with the scheduler and
      dispatcher running as in ``upward serve``, on a SQLite file in a temp dir (with
      ``--postgres URL``, a fresh PostgreSQL schema there) migrated with
      alembic, the sample program loaded (``SAMPLE_PROGRAM``, ``read_program_file``,
      ``save_program``), --participants people joined, matched and introduced, so
      ``status`` finds a program, a partner, the next prompt and goals;
    * bare: a slack_bolt ``AsyncApp`` with the same signing secret whose listeners only
      ``ack()``, served the same way and sent the very same bodies.

    Both point their Web API client at the FakeSlack process (bolt's one ``auth.test``).

    Reading the figures: with ``process_before_response=False`` bolt's AsyncApp starts the
    listener and polls for its ack every 10 ms (``asyncio.sleep(0.01)`` in
    slack_bolt/listener/asyncio_runner.py), so ~10-14 ms is the floor for both apps. A
    request bolt could not ack within 3 s is answered 404 and counted as a failure (Slack
    would show the person an error).

Targets
    Upward's p99 under 100 ms, and within 1.5x the bare app's p99, for each kind.

Reproduce
    .venv/bin/python bench/ack.py                       # 50 req/s, 20 s per kind and app
    .venv/bin/python bench/ack.py --rate 100 --seconds 5 --participants 200
    .venv/bin/python bench/ack.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    Needs nothing outside the venv; ~4 x --seconds plus ~15 s of set-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - the e2e tests' signing secret
TOKEN = "xoxb-test"  # noqa: S105 - the fake's token
TEAM = "T0001"
ADMIN, ADMIN_CHANNEL = "U0ADMIN", "C0ADMIN"
FORM = "application/x-www-form-urlencoded"
WARMUP_SECONDS = 1.0
SLACK_DEADLINE = 3.0  # Slack gives up on an ack after 3 seconds
TARGET_P99, TARGET_RATIO = 0.100, 1.5
ZONES = ("Europe/London", "Europe/Berlin", "Europe/Madrid")


def counts(rate: float, seconds: float) -> tuple[int, int]:
    """(warm-up, measured) requests of one kind."""
    return round(rate * WARMUP_SECONDS), round(rate * seconds)


def joined_user(i: int) -> str:
    return f"U0J{i:05d}"


def new_user(i: int) -> str:
    return f"U0N{i:06d}"


def join_answers(i: int) -> dict[str, Any]:
    """Half mentors, half mentees, with topics that pair them up."""
    if i % 2 == 0:
        role, offers, wants = "mentor", ["ai_tools", "social_media"], ["career_growth"]
    else:
        role, offers, wants = "mentee", ["career_growth"], ["ai_tools"]
    return {
        "role": role,
        "offers": offers,
        "wants": wants,
        "off_limits": [],
        "avoid": "",
        "timezone": ZONES[i % len(ZONES)],
        "agree": ["yes"],
    }


def _import_tests() -> None:
    """tests/ is not an installed package: make the repository importable."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def announce(**facts: Any) -> None:
    """One JSON line on stdout: how a child tells the client it is ready, or what it did."""
    print(json.dumps(facts), flush=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def stdin_closed() -> None:
    """Children run until the client closes their stdin."""
    await asyncio.to_thread(sys.stdin.read)


# --- child: the loopback Slack Web API ------------------------------------------------------


async def run_fake(users: int, joined: int) -> None:
    _import_tests()
    from tests.fakes.slack_api import FakeSlack

    async with FakeSlack(team_id=TEAM, token=TOKEN) as slack:
        slack.add_user(ADMIN, "admin", "Program Admin")
        for user in [*map(joined_user, range(joined)), *map(new_user, range(users))]:
            slack.add_user(user, user.lower(), f"Person {user[3:]}")
        slack.add_channel(ADMIN_CHANNEL, "mentoring-admins")
        announce(base_url=slack.base_url, root_url=slack.root_url)
        await stdin_closed()
        methods: dict[str, int] = {}
        for call in slack.calls:
            methods[call.method] = methods.get(call.method, 0) + 1
        announce(calls=methods)


# --- child: the servers under test ------------------------------------------------------------


async def serve(web_app: web.Application, **facts: Any) -> None:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    cpu_at_start = cpu_seconds()
    announce(port=port, **facts)
    await stdin_closed()
    cpu = cpu_seconds() - cpu_at_start
    await runner.cleanup()
    announce(cpu_seconds=cpu)


async def run_upward(api_url: str, participants: int, postgres: str | None) -> None:
    if postgres is None:
        with tempfile.TemporaryDirectory(prefix="upward-ack-") as folder:
            await serve_upward(
                f"sqlite+aiosqlite:///{Path(folder) / 'upward.db'}", api_url, participants
            )
        return
    _import_tests()
    from tests.pg import fresh_schema

    async with fresh_schema(postgres) as pg:
        await serve_upward(pg.url, api_url, participants)


async def serve_upward(url: str, api_url: str, participants: int) -> None:
    from cryptography.fernet import Fernet

    from adapters.slack.render import render_modal
    from bot.app import build_app
    from bot.events import Actor, Command, FormSubmission
    from bot.server import build_web_app
    from bot.settings import load_settings
    from flows.context import FlowContext
    from flows.optin import join_form
    from flows.programs import SAMPLE_PROGRAM, read_program_file, save_program
    from storage.migrate import upgrade_async

    await upgrade_async(url)
    settings = load_settings(
        database_url=url,
        encryption_keys=[Fernet.generate_key().decode()],
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        slack_admin_channel=ADMIN_CHANNEL,
        slack_admin_users=[ADMIN],
        slack_pacing_seconds=0,
    )
    app = build_app(settings)

    async def load(ctx: FlowContext) -> tuple[int, dict[str, Any]]:
        program, _ = await save_program(ctx, read_program_file(SAMPLE_PROGRAM))
        return program.id, render_modal(join_form(program, ZONES[0]))  # type: ignore[return-value]

    program_id, modal = await app.engine.run(load)
    for i in range(participants):
        answers = join_answers(i)
        values = {k: v for k, v in answers.items() if v not in ("", [])}
        await app.engine.handle(
            FormSubmission(
                actor=Actor(platform="slack", tenant=TEAM, user_id=joined_user(i)),
                display_name=f"Person J{i}",
                form_id="join",
                values=values,
                state={"program_id": str(program_id)},
            )
        )
    admin = Actor(platform="slack", tenant=TEAM, user_id=ADMIN)
    outcome = []
    for args in (("match", "1"), ("match", "approve")):
        replies = await app.engine.handle(Command(actor=admin, name="admin", args=args))
        outcome.append(replies[0].message.summary)  # type: ignore[union-attr]
    sent = (await app.engine.dispatch()).sent  # the introductions, before measuring
    await serve(build_web_app(app), modal=modal, setup=outcome, introductions_sent=sent)


async def run_bare(api_url: str) -> None:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=api_url),
        signing_secret=SECRET,
        process_before_response=False,
    )

    @bolt.command("/mentoring")
    async def on_command(ack: Any) -> None:
        await ack()

    @bolt.view(re.compile(".*"))
    async def on_submission(ack: Any) -> None:
        await ack()

    await serve(bolt.web_app(path="/slack/events"))


# --- the client -------------------------------------------------------------------------------


@dataclass
class Child:
    """A child process speaking one JSON line per announcement on stdout."""

    name: str
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    log: Path

    @classmethod
    def start(cls, name: str, args: list[str], logs: Path) -> Child:
        log = logs / f"{name}.log"
        with log.open("w") as errors:
            process = subprocess.Popen(  # noqa: S603 - this very script, our own arguments
                [sys.executable, str(Path(__file__).resolve()), "--role", *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                cwd=ROOT,
            )
        line = cls._line(process.stdout)
        if not line:
            process.wait(timeout=30)
            raise SystemExit(f"{name} did not start:\n{log.read_text()[-2000:]}")
        return cls(name, process, json.loads(line), log)

    @staticmethod
    def _line(stream: IO[str] | None) -> str:
        assert stream is not None
        return stream.readline()

    def stop(self) -> dict[str, Any]:
        """Close stdin (the child's signal to shut down) and read its last announcement."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        line = self._line(self.process.stdout)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return json.loads(line) if line else {}

    def problems(self) -> list[str]:
        """Errors, and bolt's warning that a listener did not ack within its 3 s."""
        return [
            line
            for line in self.log.read_text().splitlines()
            if line.startswith("ERROR") or "Traceback" in line or "didn't call ack()" in line
        ]


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    max_send_lag: float = 0.0
    sent: int = 0
    elapsed: float = 0.0

    def fail(self, what: str) -> None:
        self.failures[what] = self.failures.get(what, 0) + 1

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


class Requests:
    """The bodies Slack would send, identical for both apps."""

    def __init__(self, fake_root: str, modal: dict[str, Any], joined: int) -> None:
        _import_tests()
        from tests.e2e.slack_world import state
        from tests.fakes.slack_api import (
            interaction_body,
            slash_command_body,
            view_submission_payload,
        )

        self._state, self._interaction, self._submission = (
            state,
            interaction_body,
            view_submission_payload,
        )
        self._slash = slash_command_body
        self.fake_root, self.modal, self.joined = fake_root, modal, joined

    def status(self, i: int) -> bytes:
        user = joined_user(i % self.joined)
        return self._slash(
            text="status",
            user_id=user,
            team_id=TEAM,
            trigger_id=f"{i}.{i}.status",
            response_url=f"{self.fake_root}response_url/s{i}",
            channel_id="D" + user[1:],
            user_name=user.lower(),
        ).encode()

    def join_submission(self, i: int) -> bytes:
        answers = join_answers(i)
        values = {
            block["block_id"]: {
                block["element"]["action_id"]: self._state(
                    block["element"], answers.get(block["block_id"])
                )
            }
            for block in self.modal["blocks"]
            if block["type"] == "input"
        }
        payload = self._submission(
            user_id=new_user(i),
            team_id=TEAM,
            callback_id=self.modal["callback_id"],
            private_metadata=self.modal["private_metadata"],
            values=values,
            view_id=f"V{i:08d}",
            trigger_id=f"{i}.{i}.submit",
            user_name=new_user(i).lower(),
            blocks=self.modal["blocks"],
        )
        return self._interaction(payload).encode()


async def drive(
    session: aiohttp.ClientSession,
    url: str,
    bodies: list[bytes],
    rate: float,
) -> Run:
    """Send ``bodies`` open loop at ``rate`` per second; latency from each scheduled time."""
    from tests.fakes.slack_api import signed_headers

    loop = asyncio.get_running_loop()
    run = Run()

    async def one(body: bytes, due: float) -> None:
        run.max_send_lag = max(run.max_send_lag, loop.time() - due)
        headers = {**signed_headers(body, SECRET), "Content-Type": FORM}
        try:
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                latency = loop.time() - due
        except (aiohttp.ClientError, TimeoutError) as exc:
            run.fail(type(exc).__name__)
            return
        if response.status == 404:  # what bolt answers when no ack() came within 3 s
            run.fail("no ack within 3 s (404)")
        elif response.status != 200:
            run.fail(f"HTTP {response.status}")
        elif answer:
            run.fail("non-empty ack (e.g. form errors)")
        run.latencies.append(latency)

    start = loop.time() + 0.05
    tasks = []
    for i, body in enumerate(bodies):
        due = start + i / rate
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        tasks.append(asyncio.create_task(one(body, due)))
    await asyncio.gather(*tasks)
    run.sent, run.elapsed = len(bodies), loop.time() - start
    return run


KINDS = {"status": "/mentoring status", "submission": "view_submission (join modal)"}


async def measure(
    port: int, requests: Requests, rate: float, seconds: float
) -> dict[str, tuple[Run, Run]]:
    """Warm-up then the measured run, for each kind; returns (warm-up, measured)."""
    url = f"http://127.0.0.1:{port}/slack/events"
    warm, count = counts(rate, seconds)
    timeout = aiohttp.ClientTimeout(total=30)
    results = {}
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=timeout
    ) as session:
        for kind in KINDS:
            build: Callable[[int], bytes] = getattr(
                requests, "status" if kind == "status" else "join_submission"
            )
            warm_run = await drive(session, url, [build(i) for i in range(warm)], rate)
            bodies = [build(i) for i in range(warm, warm + count)]
            results[kind] = (warm_run, await drive(session, url, bodies, rate))
            await asyncio.sleep(1.5)  # let work after the acks finish before the next kind
    return results


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def report(
    results: dict[str, dict[str, tuple[Run, Run]]],
    cpu: dict[str, float],
    args: argparse.Namespace,
) -> None:
    upward, bare = results["upward"], results["bare"]
    print(
        f"\nAck latency, open loop at {args.rate:g} req/s for {args.seconds:g} s per kind "
        f"({round(args.rate * args.seconds)} requests; after {WARMUP_SECONDS:g} s of warm-up)"
    )
    print(f"{'':30s}{'upward serve':>22s}{'bare bolt AsyncApp':>22s}{'upward / bare':>18s}")
    print(f"{'':30s}{'p50':>11s}{'p99':>11s}{'p50':>11s}{'p99':>11s}{'p50':>9s}{'p99':>9s}")
    verdicts = []
    for kind, label in KINDS.items():
        u, b = upward[kind][1], bare[kind][1]
        up50, up99, b50, b99 = u.quantile(0.5), u.quantile(0.99), b.quantile(0.5), b.quantile(0.99)
        print(
            f"{label:30s}{ms(up50):>11s}{ms(up99):>11s}{ms(b50):>11s}{ms(b99):>11s}"
            f"{up50 / b50:8.2f}x{up99 / b99:8.2f}x"
        )
        verdicts.append((label, up99, up99 / b99))
    print()
    for name, runs in (("upward", upward), ("bare", bare)):
        for kind, label in KINDS.items():
            run = runs[kind][1]
            slow = sum(1 for x in run.latencies if x > SLACK_DEADLINE)
            print(
                f"  {name:6s} {label:30s} max {ms(max(run.latencies, default=0))}, "
                f"mean {ms(statistics.fmean(run.latencies) if run.latencies else 0)}, "
                f"{run.sent / run.elapsed:5.1f} req/s sent, client send lag max "
                f"{ms(run.max_send_lag)}, failures {run.failures or 0}, over 3 s: {slow}"
            )
    total = {name: 2 * sum(counts(args.rate, args.seconds)) for name in cpu}
    print(
        "  server CPU per request (all kinds, warm-up included): "
        + ", ".join(f"{name} {cpu[name] / total[name] * 1000:.2f} ms" for name in cpu)
    )
    print()
    for label, p99, ratio in verdicts:
        print(
            f"target {label}: p99 under {TARGET_P99 * 1000:.0f} ms "
            f"{'met' if p99 < TARGET_P99 else 'MISSED'} ({p99 / TARGET_P99:.2f} of it); "
            f"within {TARGET_RATIO}x of bare {'met' if ratio <= TARGET_RATIO else 'MISSED'} "
            f"(ratio {ratio:.2f})"
        )


async def client(args: argparse.Namespace) -> None:
    _import_tests()
    logs = Path(tempfile.mkdtemp(prefix="upward-ack-logs-"))
    users = sum(counts(args.rate, args.seconds))
    fake = Child.start(
        "fake", ["fake", "--users", str(users), "--participants", str(args.participants)], logs
    )
    api = fake.ready["base_url"]
    results: dict[str, dict[str, tuple[Run, Run]]] = {}
    cpu: dict[str, float] = {}
    problems: dict[str, list[str]] = {}
    requests: Requests | None = None
    try:
        started = time.perf_counter()
        upward = Child.start(
            "upward",
            ["upward", "--api-url", api, "--participants", str(args.participants)]
            + (["--postgres", args.postgres] if args.postgres else []),
            logs,
        )
        print(
            f"upward serve ready in {time.perf_counter() - started:.1f} s on port "
            f"{upward.ready['port']}: {args.participants} joined; "
            + "; ".join(upward.ready["setup"])
            + f"; {upward.ready['introductions_sent']} introductions sent"
        )
        requests = Requests(fake.ready["root_url"], upward.ready["modal"], args.participants)
        try:
            port = upward.ready["port"]
            results["upward"] = await measure(port, requests, args.rate, args.seconds)
        finally:
            cpu["upward"] = upward.stop().get("cpu_seconds", float("nan"))
            problems["upward"] = upward.problems()
        bare = Child.start("bare", ["bare", "--api-url", api], logs)
        try:
            results["bare"] = await measure(bare.ready["port"], requests, args.rate, args.seconds)
        finally:
            cpu["bare"] = bare.stop().get("cpu_seconds", float("nan"))
            problems["bare"] = bare.problems()
    finally:
        calls = fake.stop().get("calls", {})
    report(results, cpu, args)
    status_count = sum(counts(args.rate, args.seconds))
    print(
        f"\nFakeSlack received {calls.get('response_url', 0)} status replies for "
        f"{status_count} status commands to upward; views.publish {calls.get('views.publish', 0)},"
        f" chat.postMessage {calls.get('chat.postMessage', 0)}, auth.test "
        f"{calls.get('auth.test', 0)}"
    )
    for name, lines in problems.items():
        if lines:
            print(f"{name}: {len(lines)} error lines in its log ({logs / name}.log), first:")
            print("\n".join("  " + line for line in lines[:3]))
    print(f"(server logs in {logs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per kind")
    parser.add_argument(
        "--participants", type=int, default=40, help="people joined and paired before the run"
    )
    parser.add_argument(
        "--postgres", help="upward serve on a fresh schema here (postgresql+asyncpg://)"
    )
    parser.add_argument("--role", help=argparse.SUPPRESS)  # child processes
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    parser.add_argument("--users", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role is None:
        asyncio.run(client(args))
        return
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.role == "fake":
        asyncio.run(run_fake(args.users, args.participants))
    elif args.role == "upward":
        asyncio.run(run_upward(args.api_url, args.participants, args.postgres))
    elif args.role == "bare":
        asyncio.run(run_bare(args.api_url))
    else:
        parser.error(f"unknown role {args.role}")


if __name__ == "__main__":
    main()
