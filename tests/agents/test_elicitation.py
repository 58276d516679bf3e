"""Form-mode elicitation: schemas become fields, answers are typed and checked, questions wait for the user."""

from __future__ import annotations

import asyncio

import pytest

from agents.hub.elicitation import Answer, FormError, Question, Questions, coerce, form_fields

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Name", "minLength": 2},
        "email": {"type": "string", "format": "email"},
        "seats": {"type": "integer", "minimum": 1, "maximum": 9, "default": 2},
        "price": {"type": "number"},
        "window": {"type": "boolean", "default": True},
        "cabin": {"type": "string", "enum": ["eco", "biz"], "enumNames": ["Economy", "Business"], "default": "eco"},
        "meal": {"type": "string", "oneOf": [{"const": "veg", "title": "Vegetarian"}, {"const": "std", "title": "Standard"}]},
        "extras": {"type": "array", "items": {"anyOf": [{"const": "wifi", "title": "Wi-Fi"}, {"const": "bag", "title": "Bag"}]}},
    },
    "required": ["name"],
}


def test_every_form_field_kind_with_defaults_and_labelled_options() -> None:
    fields = {f.name: f for f in form_fields(SCHEMA)}
    assert [fields[n].kind for n in SCHEMA["properties"]] == [
        "string", "string", "integer", "number", "boolean", "choice", "choice", "multi"]
    assert fields["cabin"].options == [("eco", "Economy"), ("biz", "Business")] and fields["cabin"].default == "eco"
    assert fields["meal"].options == [("veg", "Vegetarian"), ("std", "Standard")]
    assert fields["extras"].options == [("wifi", "Wi-Fi"), ("bag", "Bag")]
    question = Question("q1", "s", "?", list(fields.values()), SCHEMA)
    assert question.defaults() == {"seats": 2, "window": True, "cabin": "eco"}


def test_answers_typed_from_terminal_text() -> None:
    fields = form_fields(SCHEMA)
    got = coerce(fields, {"name": "Ada", "email": "ada@example.org", "seats": " 3 ", "price": "9.5", "window": "no",
                          "cabin": "biz", "meal": "veg", "extras": "wifi, bag"})
    assert got == {"name": "Ada", "email": "ada@example.org", "seats": 3, "price": 9.5, "window": False,
                   "cabin": "biz", "meal": "veg", "extras": ["wifi", "bag"]}


@pytest.mark.parametrize("raw, problem", [
    ({}, "Name: a value is required"),
    ({"name": "A"}, "Name: length"),
    ({"name": "Ada", "seats": "12"}, "between 1 and 9"),
    ({"name": "Ada", "seats": "two"}, "not a whole number"),
    ({"name": "Ada", "email": "nope"}, "not a valid email"),
    ({"name": "Ada", "cabin": "first"}, "choose one of eco, biz"),
    ({"name": "Ada", "extras": ["wifi", "pool"]}, "pool not among"),
])
def test_bad_answers_say_which_field(raw: dict, problem: str) -> None:
    with pytest.raises(FormError, match=problem):
        coerce(form_fields(SCHEMA), raw)


@pytest.mark.parametrize("schema", [{"type": "string"}, {"type": "object", "properties": {"x": {"type": "object"}}},
                                    {"type": "object", "properties": {"x": {"type": "string", "enum": "ab"}}}])
def test_schemas_a_form_cannot_show_are_refused(schema: dict) -> None:
    with pytest.raises(FormError):
        form_fields(schema)


async def test_a_question_waits_for_its_answer_and_times_out_as_cancel() -> None:
    questions = Questions()
    question = Question(questions.new_id(), "s", "Name?", form_fields(SCHEMA), SCHEMA)
    waiting = asyncio.create_task(questions.ask(question))
    await asyncio.sleep(0)
    assert [q.id for q in questions.pending()] == [question.id]
    with pytest.raises(FormError):
        questions.answer(question.id, "accept", {"name": ""})  # a bad answer leaves the question open
    questions.answer(question.id, "accept", {"name": "Ada"})
    assert await waiting == Answer("accept", {"name": "Ada"}) and questions.pending() == []
    with pytest.raises(KeyError):
        questions.answer(question.id, "decline")
    late = Question(questions.new_id(), "s", "?", [], {"type": "object", "properties": {}})
    assert await questions.ask(late, timeout_s=0.01) == Answer("cancel")
