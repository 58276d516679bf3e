"""BFCL questions become MCP-style tool specs with JSON-schema types (benchmarks/bfcl_scoring.py)."""

from __future__ import annotations

from benchmarks import bfcl_scoring


def test_a_parameter_named_type_keeps_its_schema() -> None:
    # BFCL has functions with a parameter called "type" (an event type, a unit type): its schema is a dict, which
    # the type conversion once read as the properties object's own JSON type.
    question = {"function": [{"name": "events.find", "description": "Find events.", "parameters": {
        "type": "dict", "properties": {"type": {"type": "string", "description": "Event type"},
                                       "limit": {"type": "integer"}}, "required": ["type"]}}]}
    (tool,) = bfcl_scoring.tools_of(question)
    params = tool["function"]["parameters"]
    assert tool["function"]["name"] == "bfcl__events_find"
    assert params["type"] == "object"
    assert params["properties"]["type"] == {"type": "string", "description": "Event type"}
    assert params["properties"]["limit"] == {"type": "integer"}
    assert params["required"] == ["type"]
