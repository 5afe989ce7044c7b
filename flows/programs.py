"""Programs: loaded from YAML or created by an admin through a form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.events import Command, FormSubmission
from bot.messages import Form, FormErrors, FormField, Option, Say, ShowForm, say
from bot.timing import CADENCES
from flows.context import FlowContext
from storage.models import Program

FOCUSES = ("technology", "inclusion", "ways_of_working", "general")
SAMPLE_PROGRAM = Path(__file__).parent / "data" / "sample_program.yaml"


class ProgramSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,79}$")
    name: str = Field(min_length=2, max_length=200)
    focus: str
    topics: dict[str, str] = Field(min_length=2)
    cadence: str = "monthly"
    duration_months: int = Field(default=6, ge=3, le=6)
    pilot: bool = False
    mentor_capacity: int = Field(default=1, ge=1, le=5)
    anonymity_threshold: int = Field(default=5, ge=3, le=50)
    support: str = ""
    preparation: bool = True  # role cards before the introduction

    @field_validator("focus")
    @classmethod
    def _focus(cls, value: str) -> str:
        if value not in FOCUSES:
            raise ValueError(f"focus must be one of {', '.join(FOCUSES)}")
        return value

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        if value not in CADENCES:
            raise ValueError(f"cadence must be one of {', '.join(CADENCES)}")
        return value

    @field_validator("topics")
    @classmethod
    def _topic_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for topic_id in value:
            if not topic_id.replace("_", "").isalnum() or not topic_id.islower():
                raise ValueError(f"topic id {topic_id!r} must be lower_snake_case")
        return value


class ProgramFileError(Exception):
    pass


def read_program_file(path: Path) -> ProgramSpec:
    try:
        data: Any = yaml.safe_load(path.read_text())
        return ProgramSpec.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ProgramFileError(f"could not read {path}: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ProgramFileError(f"{path} is not a valid program: {problems}") from None


async def save_program(ctx: FlowContext, spec: ProgramSpec) -> tuple[Program, bool]:
    return await ctx.repos.programs.save(**spec.model_dump(), active=True)


async def current_program(ctx: FlowContext, slug: str | None = None) -> Program | None:
    if slug:
        program = await ctx.repos.programs.by_slug(slug)
        return program if program and program.active else None
    programs = await ctx.repos.programs.active()
    return programs[0] if programs else None


# --- admin: create or edit a program through a form ------------------------------------


async def admin_program(event: Command, ctx: FlowContext) -> ShowForm | Say:
    existing = await current_program(ctx, event.args[0] if event.args else None)
    return ShowForm(form=program_form(existing))


def program_form(program: Program | None) -> Form:
    def initial(value: object) -> str | None:
        return None if program is None else str(value)

    return Form(
        form_id="admin.program",
        title="Mentoring program",
        fields=(
            FormField(id="name", label="Name", initial=initial(program and program.name)),
            FormField(
                id="slug",
                label="Short id (lowercase, dashes)",
                initial=initial(program and program.slug),
            ),
            FormField(
                id="focus",
                label="Focus",
                type="select",
                options=tuple(Option(value=f, label=f.replace("_", " ")) for f in FOCUSES),
                initial=initial(program and program.focus),
            ),
            FormField(
                id="topics",
                label="Topics, comma-separated",
                type="long_text",
                initial=None if program is None else ", ".join(program.topics.values()),
            ),
            FormField(
                id="cadence",
                label="Cadence",
                type="select",
                options=tuple(Option(value=c, label=c) for c in CADENCES),
                initial=initial(program and program.cadence) or "monthly",
            ),
            FormField(
                id="duration_months",
                label="Duration in months (3-6)",
                type="number",
                initial=initial(program and program.duration_months) or "6",
            ),
            FormField(
                id="mentor_capacity",
                label="Mentees per mentor",
                type="number",
                initial=initial(program and program.mentor_capacity) or "1",
            ),
            FormField(
                id="anonymity_threshold",
                label="Anonymity threshold k (3 or more)",
                type="number",
                initial=initial(program and program.anonymity_threshold) or "5",
            ),
            FormField(
                id="pilot",
                label="This is a pilot",
                type="checkbox",
                required=False,
                options=(
                    Option(value="yes", label="This is a pilot (an end-of-pilot report follows)"),
                ),
                initial="yes" if program is not None and program.pilot else None,
            ),
            FormField(
                id="support",
                label="Where people can find support after a heavy conversation",
                type="long_text",
                required=False,
                max_length=1000,
                initial=None if program is None else program.support or None,
            ),
        ),
        submit_label="Save",
    )


async def submit_program(event: FormSubmission, ctx: FlowContext) -> Say | FormErrors:
    values = {
        k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in event.values.items()
    }
    topics_text = str(values.get("topics", ""))
    labels = [t.strip() for t in topics_text.replace("\n", ",").split(",") if t.strip()]
    existing = await ctx.repos.programs.by_slug(str(values.get("slug", "")).strip().lower())
    # Editing keeps each topic's id, so what people already chose still matches.
    known = {label: topic_id for topic_id, label in (existing.topics if existing else {}).items()}
    data = {
        "name": str(values.get("name", "")).strip(),
        "slug": str(values.get("slug", "")).strip().lower(),
        "focus": values.get("focus", ""),
        "topics": {known.get(label) or _topic_id(label): label for label in labels},
        "cadence": values.get("cadence") or "monthly",
        "duration_months": values.get("duration_months") or 6,
        "mentor_capacity": values.get("mentor_capacity") or 1,
        "anonymity_threshold": values.get("anonymity_threshold") or 5,
        "pilot": values.get("pilot") in ("true", "yes", "on"),
        "support": str(values.get("support") or "").strip(),
        # Not on the form: an edit keeps what the program file chose.
        "preparation": existing.preparation if existing else True,
    }
    try:
        spec = ProgramSpec.model_validate(data)
    except ValidationError as exc:
        return FormErrors(errors={str(e["loc"][0]): _friendly(e) for e in exc.errors()})
    if existing is not None:
        in_use = await _topics_in_use(ctx, existing)
        dropped = sorted(existing.topics[t] for t in in_use - set(spec.topics))
        if dropped:
            return FormErrors(
                errors={"topics": f"People have chosen {', '.join(dropped)}: keep them."}
            )
    program, created = await save_program(ctx, spec)
    verb = "created" if created else "updated"
    return say(
        f"Program “{program.name}” {verb}: {len(program.topics)} topics, {program.cadence}, "
        f"{program.duration_months} months, k = {program.anonymity_threshold}."
    )


async def _topics_in_use(ctx: FlowContext, program: Program) -> set[str]:
    people = await ctx.repos.participants.in_program(program.id)  # type: ignore[arg-type]
    return {t for p in people for t in (*p.offers, *p.wants, *p.off_limits)}


def _topic_id(label: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in label.lower()).split())


def _friendly(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
