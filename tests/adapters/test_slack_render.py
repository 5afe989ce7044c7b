"""Neutral messages and forms -> Block Kit, and modal submissions back: pure, no Slack."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from adapters.slack.render import (
    _split,
    errors_response,
    escape,
    form_metadata,
    form_values,
    neutral_action_id,
    render_message,
    render_modal,
)
from bot.messages import (
    Actions,
    Button,
    Divider,
    Fields,
    Form,
    FormField,
    Heading,
    Message,
    Option,
    Text,
)

ENTITY = re.compile(r"&(amp|lt|gt);")
EVIL = "<!channel> <@U123> <https://evil|click>"


def assert_valid(payload: dict[str, Any]) -> None:
    """What Slack would refuse, checked on a rendered message payload."""
    assert set(payload) == {"text", "blocks"}
    assert 0 < len(payload["text"]) <= 3000
    assert 0 < len(payload["blocks"]) <= 50
    action_ids: list[str] = []
    for raw in payload["blocks"]:
        block = Block.parse(raw)
        assert block is not None
        assert block.to_dict() == raw  # slack_sdk validates limits in to_dict
        if raw["type"] == "section":
            if "text" in raw:
                assert 0 < len(raw["text"]["text"]) <= 3000
            fields = raw.get("fields", [])
            assert len(fields) <= 10
            assert all(0 < len(f["text"]) <= 2000 for f in fields)
        elif raw["type"] == "header":
            assert 0 < len(raw["text"]["text"]) <= 150
        elif raw["type"] == "actions":
            assert 0 < len(raw["elements"]) <= 25
            for button in raw["elements"]:
                assert 0 < len(button["text"]["text"]) <= 75
                action_ids.append(button["action_id"])
    assert len(action_ids) == len(set(action_ids))


def section_texts(payloads: list[dict[str, Any]]) -> list[str]:
    return [
        b["text"]["text"]
        for p in payloads
        for b in p["blocks"]
        if b["type"] == "section" and "text" in b
    ]


def squeeze(text: str) -> str:
    return "".join(text.split())


# --- escaping --------------------------------------------------------------------------------


def test_escape_the_three_control_characters_only() -> None:
    assert escape("a & b < c > d *bold* `code`") == "a &amp; b &lt; c &gt; d *bold* `code`"
    assert escape("&amp;") == "&amp;amp;"


def test_mentions_and_links_written_by_people_stay_inert() -> None:
    message = Message(
        summary=f"Your goal: {EVIL}",
        blocks=(
            Heading(text=EVIL),
            Text(text=f"*Goal*: {EVIL}"),
            Fields(items=((EVIL, EVIL),)),
            Actions(buttons=(Button(action_id="goal.done", label=EVIL, value="7"),)),
        ),
    )
    payloads = render_message(message)
    dumped = json.dumps(payloads)
    assert "<" not in dumped and ">" not in dumped
    assert "&lt;!channel&gt;" in payloads[0]["text"]
    assert section_texts(payloads)[0] == "*Goal*: &lt;!channel&gt; &lt;@U123&gt; " + (
        "&lt;https://evil|click&gt;"
    )
    for payload in payloads:
        assert_valid(payload)


# --- messages --------------------------------------------------------------------------------


def test_every_kind_of_block_maps_to_its_block_kit_counterpart() -> None:
    message = Message(
        summary="Digest",
        blocks=(
            Heading(text="This month"),
            Text(text="Three *pairs* met."),
            Fields(items=(("Pairs", "3"), ("Check-ins", "7"))),
            Divider(),
            Actions(
                buttons=(
                    Button(action_id="digest.ack", label="Thanks", value="1", style="primary"),
                    Button(action_id="optin.leave", label="Leave", style="danger"),
                    Button(action_id="home", label="Home"),
                )
            ),
        ),
    )
    [payload] = render_message(message)
    assert_valid(payload)
    assert payload["text"] == "Digest"
    header, section, fields, divider, actions = payload["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "This month", "emoji": True},
    }
    assert section["text"] == {"type": "mrkdwn", "text": "Three *pairs* met."}
    assert [f["text"] for f in fields["fields"]] == ["*Pairs*\n3", "*Check-ins*\n7"]
    assert divider == {"type": "divider"}
    thanks, leave, home = actions["elements"]
    assert (thanks["action_id"], thanks["value"], thanks["style"]) == ("digest.ack", "1", "primary")
    assert leave["style"] == "danger" and "value" not in leave
    assert "style" not in home


def test_a_message_without_blocks_shows_its_summary() -> None:
    [payload] = render_message(Message(summary="You're in."))
    assert payload["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "You're in."}}
    ]


def test_empty_content_renders_nothing_slack_would_refuse() -> None:
    message = Message(
        summary="",
        blocks=(Heading(text=" "), Text(text=""), Fields(items=(("", ""),)), Actions(buttons=())),
    )
    [payload] = render_message(message)
    assert_valid(payload)


def test_long_headings_and_labels_are_truncated() -> None:
    message = Message(
        summary="s",
        blocks=(
            Heading(text="h" * 200),
            Actions(buttons=(Button(action_id="a", label="b" * 100),)),
            Fields(items=(("label", "v" * 5000),)),
        ),
    )
    [payload] = render_message(message)
    assert_valid(payload)
    header, actions, fields = payload["blocks"]
    assert header["text"]["text"] == "h" * 149 + "…"
    assert actions["elements"][0]["text"]["text"] == "b" * 74 + "…"
    assert len(fields["fields"][0]["text"]) == 2000


def test_truncation_never_cuts_an_entity_in_half() -> None:
    [payload] = render_message(Message(summary="s", blocks=(Heading(text="<" * 200),)))
    text = payload["blocks"][0]["text"]["text"]
    assert text.endswith("…") and len(text) <= 150
    assert ENTITY.sub("", text[:-1]) == ""


def test_twenty_thousand_characters_are_split_without_losing_a_word() -> None:
    words = [f"word{i}" + "x" * (i % 13) for i in range(2600)]
    paragraphs, lines = [], []
    for i, word in enumerate(words):
        lines.append(word)
        if i % 17 == 16:
            paragraphs.append(" ".join(lines))
            lines = []
    paragraphs.append(" ".join(lines))
    text = "\n\n".join(paragraphs).replace("x word1", "x\nword1")
    text += " " + "y" * 4000 + " end"  # one word longer than a whole section
    assert len(text) > 20_000
    payloads = render_message(Message(summary="Long", blocks=(Text(text=text),)))
    for payload in payloads:
        assert_valid(payload)
    texts = section_texts(payloads)
    assert len(texts) >= 8
    assert squeeze(" ".join(texts)) == squeeze(text)
    # only the over-long word is cut; every other word arrives whole and in order
    assert " ".join(texts).split()[: len(words)] == words


def test_splitting_prefers_paragraphs_then_lines_then_words() -> None:
    para = "a" * 2000
    assert _split(f"{para}\n\n{para}", 3000) == [para, para]
    assert _split(f"{'b' * 900} {para}\n{para}", 3000) == [f"{'b' * 900} {para}", para]
    assert _split(f"{para} {para}", 3000) == [para, para]
    assert _split("c" * 6500, 3000) == ["c" * 3000, "c" * 3000, "c" * 500]


def test_sixty_text_blocks_make_two_payloads() -> None:
    message = Message(summary="Your goals", blocks=tuple(Text(text=f"Goal {i}") for i in range(60)))
    payloads = render_message(message)
    assert [len(p["blocks"]) for p in payloads] == [50, 10]
    assert payloads[0]["text"] == "Your goals"
    assert payloads[1]["text"] == "(continued) Your goals"
    assert section_texts(payloads) == [f"Goal {i}" for i in range(60)]
    for payload in payloads:
        assert_valid(payload)


def test_a_heading_is_not_left_alone_at_the_bottom_of_a_payload() -> None:
    blocks = [Text(text=f"t{i}") for i in range(49)] + [Heading(text="Next"), Text(text="x")]
    payloads = render_message(Message(summary="s", blocks=tuple(blocks)))
    assert [len(p["blocks"]) for p in payloads] == [49, 2]
    assert payloads[1]["blocks"][0]["type"] == "header"


def test_the_fallback_text_is_escaped_and_short_enough() -> None:
    payloads = render_message(Message(summary="<&>" * 2000, blocks=(Divider(),) * 60))
    assert len(payloads) == 2
    for payload in payloads:
        assert_valid(payload)
        assert payload["text"].endswith("…")
        assert "<" not in payload["text"]


def test_many_fields_and_buttons_are_split_across_blocks() -> None:
    message = Message(
        summary="s",
        blocks=(
            Fields(items=tuple((f"k{i}", f"v{i}") for i in range(23))),
            Actions(buttons=tuple(Button(action_id=f"b{i}", label=f"B{i}") for i in range(30))),
        ),
    )
    [payload] = render_message(message)
    assert_valid(payload)
    kinds = [(b["type"], len(b.get("fields", b.get("elements", [])))) for b in payload["blocks"]]
    assert kinds == [
        ("section", 10),
        ("section", 10),
        ("section", 3),
        ("actions", 25),
        ("actions", 5),
    ]


def test_repeated_action_ids_become_unique_and_map_back() -> None:
    goals = tuple(
        Actions(buttons=(Button(action_id="goal.done", label="Done", value=str(i)),))
        for i in range(3)
    )
    more = Actions(
        buttons=tuple(
            Button(action_id="goal.done", label="Done", value=str(i)) for i in range(3, 30)
        )
    )
    payloads = render_message(Message(summary="Goals", blocks=(*goals, more)))
    buttons = [
        e for p in payloads for b in p["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    ids = [b["action_id"] for b in buttons]
    assert ids[:3] == ["goal.done", "goal.done~2", "goal.done~3"]
    assert len(set(ids)) == 30
    assert {neutral_action_id(i) for i in ids} == {"goal.done"}
    assert [b["value"] for b in buttons] == [str(i) for i in range(30)]
    for payload in payloads:
        assert_valid(payload)


def test_neutral_action_id_leaves_plain_ids_alone() -> None:
    assert neutral_action_id("goal.done") == "goal.done"
    assert neutral_action_id("goal.done~12") == "goal.done"
    assert neutral_action_id("a~b") == "a~b"


# --- modals ----------------------------------------------------------------------------------

SCALE = tuple(Option(value=str(i), label=f"{i} of 5") for i in range(1, 6))
TOPICS = (
    Option(value="ai", label="AI"),
    Option(value="sql", label="SQL"),
    Option(value="x", label="X"),
)


def every_field_form() -> Form:
    return Form(
        form_id="goal.add",
        title="Add a goal for this mentoring cycle",
        intro="Goals are *yours*: <!here> stays text.",
        fields=(
            FormField(id="goal", label="Goal", max_length=300, initial="Learn SQL"),
            FormField(id="details", label="Details", type="long_text", required=False, hint="Why?"),
            FormField(id="months", label="Months", type="number", initial="6"),
            FormField(
                id="due", label="Due date", type="date", required=False, initial="2026-12-01"
            ),
            FormField(
                id="confidence", label="Confidence", type="select", options=SCALE, initial="3"
            ),
            FormField(
                id="topics",
                label="Topics",
                type="multi_select",
                options=TOPICS,
                required=False,
                initial=("ai", "sql"),
            ),
            FormField(
                id="pilot", label="This is a pilot", type="checkbox", required=False, initial="yes"
            ),
            FormField(
                id="share",
                label="Share",
                type="checkbox",
                required=False,
                options=(Option(value="yes", label="Share with my partner"),),
            ),
        ),
        submit_label="Save",
        state={"pair_id": "12", "cycle": "2026-Q4"},
    )


def test_a_modal_with_every_field_type() -> None:
    view = render_modal(every_field_form())
    assert View(**view).to_dict() == view  # parses and validates again
    assert view["type"] == "modal"
    assert view["callback_id"] == "goal.add"
    assert view["title"]["text"] == "Add a goal for this men…"
    assert len(view["title"]["text"]) == 24
    assert view["submit"]["text"] == "Save" and view["close"]["text"] == "Cancel"
    intro, *inputs = view["blocks"]
    assert intro["text"]["text"] == "Goals are *yours*: &lt;!here&gt; stays text."
    by_id = {b["block_id"]: b for b in inputs}
    assert list(by_id) == [
        "goal", "details", "months", "due", "confidence", "topics", "pilot", "share",
    ]  # fmt: skip
    elements = {k: b["element"] for k, b in by_id.items()}
    assert {k: e["type"] for k, e in elements.items()} == {
        "goal": "plain_text_input",
        "details": "plain_text_input",
        "months": "number_input",
        "due": "datepicker",
        "confidence": "static_select",
        "topics": "multi_static_select",
        "pilot": "checkboxes",
        "share": "checkboxes",
    }
    assert all(e["action_id"] == k for k, e in elements.items())
    assert {k: b.get("optional") for k, b in by_id.items()} == {
        "goal": False,
        "details": True,
        "months": False,
        "due": True,
        "confidence": False,
        "topics": True,
        "pilot": True,
        "share": True,
    }
    assert elements["goal"]["initial_value"] == "Learn SQL"
    assert elements["goal"]["max_length"] == 300
    assert elements["details"]["multiline"] is True
    assert by_id["details"]["hint"]["text"] == "Why?"
    assert elements["months"]["initial_value"] == "6"
    assert elements["due"]["initial_date"] == "2026-12-01"
    assert elements["confidence"]["initial_option"]["value"] == "3"
    assert len(elements["confidence"]["options"]) == 5
    assert [o["value"] for o in elements["topics"]["initial_options"]] == ["ai", "sql"]
    pilot = elements["pilot"]
    assert [(o["value"], o["text"]["text"]) for o in pilot["options"]] == [
        ("yes", "This is a pilot")
    ]
    assert [o["value"] for o in pilot["initial_options"]] == ["yes"]
    assert elements["share"]["options"][0]["text"]["text"] == "Share with my partner"
    assert "initial_options" not in elements["share"]
    assert form_metadata(view["private_metadata"]) == (
        "goal.add",
        {"pair_id": "12", "cycle": "2026-Q4"},
    )


def test_modal_limits_are_respected() -> None:
    many = tuple(Option(value=f"v{i}", label="L" * 100) for i in range(150))
    form = Form(
        form_id="f",
        title="T",
        intro="word " * 2000,
        fields=(
            FormField(id="s", label="S", type="select", options=many, initial="v120"),
            FormField(id="c", label="C", type="checkbox", options=many[:12]),
            FormField(id="t", label="T", max_length=10_000),
            FormField(id="d", label="D", type="date", initial="someday"),
            FormField(id="n", label="N", type="number", initial="six"),
        ),
        submit_label="Submit these answers please",
    )
    view = render_modal(form)
    assert View(**view).to_dict() == view
    assert [b["type"] for b in view["blocks"][:4]] == ["section", "section", "section", "section"]
    select = view["blocks"][4]["element"]
    assert len(select["options"]) == 100
    assert all(len(o["text"]["text"]) == 75 for o in select["options"])
    assert "initial_option" not in select  # v120 did not make the cut
    assert len(view["blocks"][5]["element"]["options"]) == 10
    assert view["blocks"][6]["element"]["max_length"] == 3000
    assert "initial_date" not in view["blocks"][7]["element"]
    assert "initial_value" not in view["blocks"][8]["element"]
    assert len(view["submit"]["text"]) == 24


def test_state_too_large_for_private_metadata_is_a_programming_error() -> None:
    form = Form(
        form_id="f", title="T", fields=(FormField(id="a", label="A"),), state={"x": "y" * 3000}
    )
    with pytest.raises(ValueError, match="private_metadata"):
        render_modal(form)


@pytest.mark.parametrize(
    "garbage",
    ["", "not json", "[]", "null", '{"state": {}}', '{"form_id": 3}', "{", '"goal.add"'],
)
def test_form_metadata_is_robust_to_garbage(garbage: str) -> None:
    assert form_metadata(garbage) == ("", {})


def test_form_metadata_keeps_only_string_state() -> None:
    raw = json.dumps({"form_id": "f", "state": {"a": "1", "b": 2, "c": None}})
    assert form_metadata(raw) == ("f", {"a": "1"})
    assert form_metadata(json.dumps({"form_id": "f", "state": "oops"})) == ("f", {})


# --- submissions -----------------------------------------------------------------------------


def option(value: str, label: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label, "emoji": True}, "value": value}


def view_submission(private_metadata: str) -> dict[str, Any]:
    """A `view_submission` body in the shape Slack sends (trimmed of ids we do not read)."""
    return {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "acme"},
        "user": {"id": "U0001", "username": "ada", "name": "ada", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "unused",
        "trigger_id": "1234.5678.abcd",
        "view": {
            "id": "V0001",
            "team_id": "T0001",
            "type": "modal",
            "callback_id": "goal.add",
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {
                "values": {
                    "goal": {"goal": {"type": "plain_text_input", "value": "Learn SQL"}},
                    "details": {"details": {"type": "plain_text_input", "value": None}},
                    "months": {"months": {"type": "number_input", "value": "4"}},
                    "due": {"due": {"type": "datepicker", "selected_date": None}},
                    "confidence": {
                        "confidence": {
                            "type": "static_select",
                            "selected_option": option("3", "3 of 5"),
                        }
                    },
                    "topics": {
                        "topics": {
                            "type": "multi_static_select",
                            "selected_options": [option("ai", "AI"), option("x", "X")],
                        }
                    },
                    "pilot": {
                        "pilot": {
                            "type": "checkboxes",
                            "selected_options": [option("yes", "This is a pilot")],
                        }
                    },
                    "share": {"share": {"type": "checkboxes", "selected_options": []}},
                    "cadence": {"cadence": {"type": "static_select", "selected_option": None}},
                    "start": {"start": {"type": "datepicker", "selected_date": "2026-12-01"}},
                }
            },
            "hash": "1700000000.abcdef",
            "title": {"type": "plain_text", "text": "Add a goal", "emoji": True},
            "close": {"type": "plain_text", "text": "Cancel", "emoji": True},
            "submit": {"type": "plain_text", "text": "Save", "emoji": True},
            "root_view_id": "V0001",
            "app_id": "A0001",
            "bot_id": "B0001",
        },
        "response_urls": [],
    }


def test_form_values_from_a_view_submission() -> None:
    body = view_submission(render_modal(every_field_form())["private_metadata"])
    assert form_values(body["view"]["state"]["values"]) == {
        "goal": "Learn SQL",
        "details": "",
        "months": "4",
        "due": "",
        "confidence": "3",
        "topics": ["ai", "x"],
        "pilot": ["yes"],
        "share": [],
        "cadence": "",
        "start": "2026-12-01",
    }
    assert form_metadata(body["view"]["private_metadata"]) == (
        "goal.add",
        {"pair_id": "12", "cycle": "2026-Q4"},
    )


def test_form_values_skips_what_it_does_not_understand() -> None:
    values = {"a": "junk", "b": {"b": "junk"}, "c": {"c": {"type": "users_select"}}}
    assert form_values(values) == {}


def test_errors_response() -> None:
    response = errors_response({"goal": "Please write a goal.", "due": "x" * 400})
    assert response["response_action"] == "errors"
    assert response["errors"]["goal"] == "Please write a goal."
    assert len(response["errors"]["due"]) == 150 and response["errors"]["due"].endswith("…")


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_no_raw_control_character_from_any_text(text: str) -> None:
    message = Message(
        summary=text,
        blocks=(
            Heading(text=text),
            Text(text=text),
            Fields(items=((text, text),)),
            Actions(buttons=(Button(action_id="a", label=text, value="v"),)),
        ),
    )
    payloads = render_message(message)
    for payload in payloads:
        assert_valid(payload)
    dumped = json.dumps(payloads, ensure_ascii=False)
    assert "<" not in dumped and ">" not in dumped
    assert squeeze(" ".join(section_texts(payloads))) == squeeze(escape(text))


words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).map(
    lambda w: "".join(w.split()) or "w"
)
separators = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", " \n "])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(words, separators), min_size=100, max_size=900))
def test_long_text_keeps_every_word_in_order(parts: list[tuple[str, str]]) -> None:
    text = "".join(w + s for w, s in parts) * 4  # several sections' worth
    payloads = render_message(Message(summary="s", blocks=(Text(text=text),)))
    for payload in payloads:
        assert_valid(payload)
    assert " ".join(section_texts(payloads)).split() == escape(text).split()


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=5, max_value=60))
def test_split_property(text: str, limit: int) -> None:
    escaped = escape(text)
    chunks = _split(escaped, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert all(c == c.strip() for c in chunks)
    assert squeeze("".join(chunks)) == squeeze(escaped)
    for chunk in chunks:  # no entity cut in half
        assert "&" not in ENTITY.sub("", chunk)
    if all(len(w) <= limit for w in escaped.split()):
        assert " ".join(chunks).split() == escaped.split()
