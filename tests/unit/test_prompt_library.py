"""Checks the shape and coverage of the conversation-starter prompt library."""

import re
from collections import Counter
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPTS_PATH = REPO_ROOT / "flows" / "data" / "prompts.yaml"

VALID_FOCUS = {"technology", "inclusion", "ways_of_working", "general"}
MIN_PER_FOCUS = {
    "technology": 12,
    "inclusion": 12,
    "ways_of_working": 12,
    "general": 6,
}
VALID_TOPICS = {
    "ai_tools",
    "social_media",
    "data_literacy",
    "collaboration_tools",
    "cybersecurity",
    "hybrid_work",
    "wellbeing",
    "career_growth",
    "generational_perspectives",
    "diversity_inclusion",
    "accessibility",
    "front_line_experience",
    "customer_insight",
    "decision_making",
    "feedback_culture",
}
VALID_LEAD = {"junior", "either"}
KEBAB_CASE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_TEXT_LENGTH = 300


def load_prompts() -> list[dict]:
    with PROMPTS_PATH.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict), "prompts.yaml must be a mapping"
    prompts = data.get("prompts")
    assert isinstance(prompts, list), "prompts.yaml must have a 'prompts' list"
    for prompt in prompts:
        assert isinstance(prompt, dict), f"prompt entry is not a mapping: {prompt!r}"
    return prompts


def test_library_has_enough_prompts() -> None:
    assert len(load_prompts()) >= 48


def test_ids_are_unique_kebab_case() -> None:
    ids = [prompt.get("id") for prompt in load_prompts()]
    for prompt_id in ids:
        assert isinstance(prompt_id, str), f"id must be a string: {prompt_id!r}"
        assert KEBAB_CASE.match(prompt_id), f"id is not kebab-case: {prompt_id!r}"
    duplicates = sorted(pid for pid, n in Counter(ids).items() if n > 1)
    assert not duplicates, f"duplicate ids: {duplicates}"


def test_focus_values_and_counts() -> None:
    prompts = load_prompts()
    for prompt in prompts:
        assert prompt.get("focus") in VALID_FOCUS, (
            f"{prompt.get('id')}: invalid focus {prompt.get('focus')!r}"
        )
    counts = Counter(prompt["focus"] for prompt in prompts)
    for focus, minimum in MIN_PER_FOCUS.items():
        assert counts[focus] >= minimum, (
            f"focus {focus!r} has {counts[focus]} prompts, need at least {minimum}"
        )


def test_topics_valid_and_covered() -> None:
    prompts = load_prompts()
    usage: Counter[str] = Counter()
    for prompt in prompts:
        topics = prompt.get("topics")
        assert isinstance(topics, list), f"{prompt.get('id')}: topics must be a list"
        assert 1 <= len(topics) <= 3, f"{prompt.get('id')}: needs 1-3 topics"
        assert len(set(topics)) == len(topics), f"{prompt.get('id')}: repeated topic in {topics}"
        unknown = set(topics) - VALID_TOPICS
        assert not unknown, f"{prompt.get('id')}: unknown topics {sorted(unknown)}"
        usage.update(topics)
    underused = sorted(topic for topic in VALID_TOPICS if usage[topic] < 2)
    assert not underused, f"topics used fewer than 2 times: {underused}"


def test_lead_values() -> None:
    for prompt in load_prompts():
        assert prompt.get("lead") in VALID_LEAD, (
            f"{prompt.get('id')}: invalid lead {prompt.get('lead')!r}"
        )


def test_text_is_clean_and_short() -> None:
    for prompt in load_prompts():
        text = prompt.get("text")
        assert isinstance(text, str), f"{prompt.get('id')}: text must be a string"
        assert text, f"{prompt.get('id')}: text is empty"
        assert text == text.strip(), f"{prompt.get('id')}: text has outer whitespace"
        assert len(text) < MAX_TEXT_LENGTH, (
            f"{prompt.get('id')}: text is {len(text)} chars, limit {MAX_TEXT_LENGTH}"
        )
