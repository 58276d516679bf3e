"""The local model's tool selector: every server's tools are candidates, a relevant single tool is never lost."""

from __future__ import annotations

from agents.models.local.tool_select import scores, select_tools, stem


def spec(name: str, description: str, **params: dict) -> dict:
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "properties": params}}}


def names(tools: list[dict]) -> list[str]:
    return [t["function"]["name"] for t in tools]


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


AREA = spec("calculate_triangle_area", "Calculate the area of a triangle given its base and height.",
            base={"type": "integer", "description": "The base of the triangle."},
            height={"type": "integer", "description": "The height of the triangle."})


def test_the_single_offered_tool_is_returned_for_a_request_that_does_not_name_it():
    # With one tool, log(N / n) is 0 for every word: the old selector sent nothing unless the tool was named.
    chosen = select_tools(ask("Find the area of a triangle with a base of 10 units and height of 5 units."), [AREA], 2400)
    assert names(chosen) == ["calculate_triangle_area"]
    assert scores("What is the area of a triangle with base 3 and height 4?", [AREA])[0] > 0


def test_an_unrelated_request_gets_no_tool_even_when_only_one_is_offered():
    assert select_tools(ask("What is the capital of France?"), [AREA], 2400) == []


def test_the_budget_not_a_fixed_count_sets_how_many_go():
    tools = [spec(f"files__op{i}", f"Read a workspace file variant {i}.", path={"type": "string"}) for i in range(8)]
    everything = select_tools(ask("read the workspace file"), tools, 10_000)
    assert len(everything) == 8  # the old cap was 4
    one_tool = len(str(tools[0])) // 3 + 1
    assert len(select_tools(ask("read the workspace file"), tools, one_tool * 3)) < 8


def test_tools_used_earlier_in_the_conversation_are_preferred_for_a_follow_up():
    run = spec("sandbox__run_python", "Run Python code in the sandbox and return its output.", code={"type": "string"})
    write = spec("workspace__write_file", "Create or replace a text file in the workspace.",
                 path={"type": "string"}, content={"type": "string"})
    grep = spec("workspace__grep", "Search workspace text files for a regex pattern.", pattern={"type": "string"})
    history = [
        {"role": "user", "content": "run print(2) in the sandbox"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "a", "type": "function", "function": {
            "name": "sandbox__run_python", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "a", "content": "2"},
        {"role": "assistant", "content": "It printed 2."},
        {"role": "user", "content": "now print the text files too"},
    ]
    assert "sandbox__run_python" in names(select_tools(history, [run, write, grep], 2400))
    assert "sandbox__run_python" not in names(select_tools(history[-1:], [run, write, grep], 2400))


def test_stems_join_the_usual_variants():
    assert stem("files") == stem("file") and stem("running") == stem("run") and stem("calculated") == stem("calculate")
