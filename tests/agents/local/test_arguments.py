"""Argument repair for the local model's calls: numbers from words, magnitudes, the exact field named."""

from __future__ import annotations

import json

from agents.models.local import adapter
from agents.models.local.arguments import number_from_text, problem, repair

SCHEMA = {"type": "object", "properties": {
    "amount": {"type": "number", "description": "Amount in dollars"},
    "count": {"type": "integer"},
    "unit": {"type": "string", "enum": ["km", "mi"]},
    "note": {"type": "string"}}, "required": ["amount"]}


def test_fifty_million_becomes_50000000_for_a_number_field():
    assert repair({"amount": "50 million"}, SCHEMA) == {"amount": 50000000}
    assert repair({"amount": "50 million", "note": "50 million"}, SCHEMA)["note"] == "50 million"  # strings stay


def test_numbers_in_other_spellings():
    assert number_from_text("$3.5bn") == 3.5e9 and number_from_text("1,200") == 1200
    assert number_from_text("twenty five thousand") == 25000 and number_from_text("soon") is None
    assert repair({"amount": 1, "count": "twelve"}, SCHEMA) == {"amount": 1, "count": 12}


def test_a_magnitude_off_by_a_power_of_ten_from_the_users_number_is_corrected():
    request = "Invest 50 million dollars"
    assert repair({"amount": 500000000}, SCHEMA, request) == {"amount": 50000000}
    assert repair({"amount": 7}, SCHEMA, request) == {"amount": 7}  # not the user's number times ten: left alone


def test_the_exact_field_is_named():
    assert problem({"amount": 1, "unit": "km, mi"}, SCHEMA).startswith("`unit` must be exactly one of ['km', 'mi']")
    assert "required" in problem({}, SCHEMA)
    assert problem({"amount": 2.5, "unit": "km"}, SCHEMA) is None


def test_review_repairs_the_call_and_says_what_is_still_wrong():
    tools = [{"type": "function", "function": {"name": "convert", "parameters": SCHEMA}}]
    call = {"id": "c", "type": "function", "function": {"name": "convert",
                                                         "arguments": '{"amount": "50 million", "unit": "miles"}'}}
    message, wrong = adapter.review({"role": "assistant", "content": "", "tool_calls": [call]}, tools,
                                    [{"role": "user", "content": "convert 50 million miles to km"}])
    assert json.loads(message["tool_calls"][0]["function"]["arguments"])["amount"] == 50000000
    assert wrong is not None and "`unit`" in wrong
    retry = adapter.correction(message, wrong)
    assert retry[-1]["role"] == "user" and "`unit`" in retry[-1]["content"]


def test_enums_are_spelled_out_as_choose_one():
    tool = adapter.compact({"type": "function", "function": {"name": "convert", "parameters": SCHEMA}})
    assert 'choose one of: "km", "mi"' in tool["function"]["parameters"]["properties"]["unit"]["description"]


def test_small_numbers_are_left_alone_and_copied_schema_shapes_are_undone():
    schema = {"type": "object", "properties": {"p": {"type": "number"}, "trials": {"type": "integer"},
                                                "name": {"type": "string"}}, "required": ["trials"]}
    request = "Find the probability of getting exactly 5 heads in 10 fair coin tosses."
    assert repair({"trials": 10, "p": 0.5}, schema, request) == {"trials": 10, "p": 0.5}  # not "5 times 0.1"
    wrapped = {"properties": {"trials": 10, "name": "string"}, "required": ["trials"], "type": "object"}
    assert repair(wrapped, schema, request) == {"trials": 10}


RUN_PYTHON = {"type": "object", "required": ["code"],
              "properties": {"code": {"type": "string"}, "timeout_s": {"type": ["number", "null"]}}}


def test_parameter_names_copied_from_another_tool_fill_the_one_missing_required_parameter():
    """Measured: the 0.5B model called sandbox__run_python with the prompt's write_file example names."""
    args = {"path": "sum.py", "content": "print(sum(range(1, 101)))", "timeout_s": 60}
    assert repair(args, RUN_PYTHON) == {"code": "print(sum(range(1, 101)))", "timeout_s": 60}
    assert problem(repair(args, RUN_PYTHON), RUN_PYTHON) is None


def test_no_rename_when_nothing_is_missing_or_which_value_goes_where_is_a_guess():
    complete = {"code": "print(1)", "path": "x.py"}
    assert repair(complete, RUN_PYTHON) == complete  # nothing missing: the hub names the extra field
    two = {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}, "b": {"type": "string"}}}
    assert repair({"x": "1", "y": "2"}, two) == {"x": "1", "y": "2"}
    assert repair({"count": 3}, RUN_PYTHON) == {"count": 3}  # no value of the missing parameter's type
