"""Adaptive Cards for Teams (1.5 at most) and Teams activities into neutral events."""

from __future__ import annotations

import json

from botbuilder.schema import Activity
from hypothesis import given
from hypothesis import strategies as st

from adapters.teams import parse
from adapters.teams.render import (
    CARD_KEY,
    FORM_KEY,
    markdown,
    render_form,
    render_message,
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

V15_ELEMENTS = {
    "TextBlock",
    "FactSet",
    "ActionSet",
    "Input.Text",
    "Input.Number",
    "Input.Date",
    "Input.Toggle",
    "Input.ChoiceSet",
}

FORM = Form(
    form_id="join",
    title="Join the program",
    intro="Takes a minute.",
    fields=(
        FormField(
            id="role",
            label="Role",
            type="select",
            options=(
                Option(value="mentor", label="Mentor"),
                Option(value="mentee", label="Mentee"),
            ),
        ),
        FormField(
            id="offers",
            label="Offers",
            type="multi_select",
            options=(Option(value="a", label="A"), Option(value="b", label="B")),
        ),
        FormField(id="note", label="Note", type="long_text", required=False, max_length=500),
        FormField(id="due", label="Due", type="date", required=False),
        FormField(id="rating", label="Rating", type="number"),
        FormField(
            id="agree",
            label="I agree",
            type="checkbox",
            options=(Option(value="yes", label="I accept"),),
        ),
    ),
    submit_label="Join",
    state={"program_id": "1"},
)


def elements(card: dict) -> list[dict]:
    found, todo = [], list(card["body"])
    while todo:
        element = todo.pop()
        found.append(element)
        todo += element.get("items", [])
    return found


def test_a_form_is_a_v1_5_card_with_one_input_per_field_and_itself_in_the_submit_data() -> None:
    card = render_form(FORM)
    assert card["version"] == "1.5" and card["type"] == "AdaptiveCard"
    assert {e["type"] for e in elements(card)} <= V15_ELEMENTS
    inputs = {e["id"]: e for e in elements(card) if e["type"].startswith("Input.")}
    assert set(inputs) == {f.id for f in FORM.fields}
    assert inputs["offers"]["isMultiSelect"] is True and inputs["role"]["isMultiSelect"] is False
    assert inputs["note"]["isMultiline"] is True and inputs["note"]["maxLength"] == 500
    assert inputs["agree"] | {"valueOn": "yes", "valueOff": ""} == inputs["agree"]
    [submit] = card["actions"]
    assert Form.model_validate(submit["data"][CARD_KEY]) == FORM
    assert submit["data"][FORM_KEY]["id"] == "join"
    json.dumps(card)  # what goes on the wire


def test_a_form_shown_again_keeps_what_was_typed_and_marks_each_error() -> None:
    card = render_form(
        FORM, errors={"rating": "A number from 1 to 5"}, values={"rating": "9", "offers": ["a"]}
    )
    texts = [e.get("text", "") for e in card["body"]]
    assert "A number from 1 to 5" in texts
    inputs = {e["id"]: e for e in card["body"] if "id" in e}
    assert inputs["rating"]["value"] == 9 and inputs["offers"]["value"] == "a"


def test_copy_written_for_slack_reads_right_on_teams() -> None:
    assert markdown("Type *`/mentoring join`* now") == "Type **join** now"
    assert markdown("Say `/mentoring admin channel here`.") == "Say **admin channel here**."
    assert markdown("*Purpose.* Reverse mentoring") == "**Purpose.** Reverse mentoring"
    assert markdown("a * b * c") == "a * b * c"


blocks = st.one_of(
    st.builds(Heading, text=st.text(min_size=1, max_size=50)),
    st.builds(Text, text=st.text(min_size=1, max_size=200)),
    st.builds(Divider),
    st.builds(
        Fields, items=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=20)), max_size=5)
    ),
    st.builds(
        Actions,
        buttons=st.lists(
            st.builds(
                Button, action_id=st.text(min_size=1, max_size=20), label=st.text(max_size=20)
            ),
            min_size=1,
            max_size=5,
        ),
    ),
)


@given(st.lists(blocks, max_size=8), st.text(max_size=40))
def test_any_message_is_a_valid_card_with_every_button(blocks: list, summary: str) -> None:
    message = Message(summary=summary or "x", blocks=tuple(blocks))
    card = render_message(message)
    assert card["version"] == "1.5"
    assert {e["type"] for e in card["body"]} <= V15_ELEMENTS
    actions = [a for e in card["body"] if e["type"] == "ActionSet" for a in e["actions"]]
    assert [a["data"]["upward_action"] for a in actions] == [b.action_id for b in message.buttons]
    json.dumps(card)


def activity(**fields: object) -> Activity:
    base = {
        "type": "message",
        "id": "1",
        "channelId": "msteams",
        "serviceUrl": "https://smba.trafficmanager.net/emea/",
        "from": {"id": "29:1abc", "name": "Amy", "aadObjectId": "aad-amy"},
        "conversation": {"id": "a:1chat", "conversationType": "personal", "tenantId": "t1"},
        "recipient": {"id": "28:bot"},
        "channelData": {"tenant": {"id": "t1"}},
    }
    return Activity().deserialize(base | fields)


def test_a_mention_in_a_channel_is_taken_out_and_the_channel_remembered() -> None:
    said = activity(
        text="<at>Upward</at>&nbsp;admin channel here",
        conversation={"id": "19:x@thread.tacv2;messageid=42", "conversationType": "channel"},
    )
    event = parse.command(said)
    assert (event.name, event.args, event.where) == (
        "admin",
        ("channel", "here"),
        "19:x@thread.tacv2",
    )
    assert event.actor.key == "teams:t1:aad-amy"
    assert parse.command(activity(text="status")).where is None


def test_card_values_become_neutral_values() -> None:
    value = {**render_form(FORM)["actions"][0]["data"], "role": "mentor", "offers": "a,b"}
    value["agree"] = ""
    event = parse.submission(activity(value=value, replyToId="card-7"))
    assert event.form_id == "join" and event.state == {"program_id": "1"}
    assert event.values["offers"] == ["a", "b"] and event.values["agree"] == []
    assert event.values["role"] == "mentor" and event.values["note"] == ""
    again = parse.submission(activity(id="2", value=value, replyToId="card-7"))
    assert again.event_id == event.event_id  # one card, one submission


def test_the_same_activity_id_in_two_conversations_is_two_events() -> None:
    one = parse.command(activity(text="status"))
    other = parse.command(
        activity(text="status", conversation={"id": "a:2chat", "conversationType": "personal"})
    )
    assert one.event_id != other.event_id


def test_a_big_form_stays_under_the_teams_message_limit_and_still_parses() -> None:
    topics = tuple(Option(value=f"topic_{i}", label=f"Topic number {i}") for i in range(100))
    big = FORM.model_copy(
        update={
            "fields": (
                FormField(id="offers", label="Offers", type="multi_select", options=topics),
                FormField(id="wants", label="Wants", type="multi_select", options=topics),
            )
        }
    )
    card = render_form(big)
    assert len(json.dumps(card)) < 28_000
    [submit] = card["actions"]
    assert CARD_KEY not in submit["data"]  # too big to carry itself
    value = {**submit["data"], "offers": "topic_1,topic_2", "wants": "topic_3"}
    event = parse.submission(activity(value=value, replyToId="card-9"))
    assert event.form_id == "join" and event.values == {
        "offers": ["topic_1", "topic_2"],
        "wants": ["topic_3"],
    }
    assert CARD_KEY in render_form(FORM)["actions"][0]["data"]  # a small one does


def test_number_inputs_get_numbers() -> None:
    numbered = FORM.model_copy(
        update={"fields": (FormField(id="k", label="k", type="number", initial="5"),)}
    )
    [element] = [e for e in render_form(numbered)["body"] if e.get("id") == "k"]
    assert element["value"] == 5 and element["type"] == "Input.Number"
