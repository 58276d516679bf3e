"""The local model's request: the relevant tools only, results cut harder, an answer nudge, the context respected."""

from __future__ import annotations

from agents.models.local import adapter
from agents.models.local.adapter import AFTER_TOOLS, compact, fit, shrink_results
from agents.models.local.tool_select import select_tools
from agents.policy.compaction import fit_within


def spec(name: str, description: str, **params: dict) -> dict:
    props = {k: {"title": k.title(), **v} for k, v in params.items()}
    return {"type": "function", "function": {"name": name, "description": description,
                                             "parameters": {"type": "object", "title": f"{name}Arguments",
                                                            "properties": props}}}


TOOLS = [
    spec("workspace__list_files", "List a workspace directory.", path={"type": "string"}),
    spec("workspace__read_file", "Read a text file from the workspace.", path={"type": "string"}),
    spec("workspace__write_file", "Create or replace a text file in the workspace.", path={"type": "string"},
         content={"type": "string"}),
    spec("workspace__delete_path", "Delete a file or an empty directory.", path={"type": "string"}),
    spec("workspace__grep", "Search workspace text files for a regex.", pattern={"type": "string"}),
    spec("browser__open_page", "Open a web page and return its text.", url={"type": "string"}),
]


def names(tools: list[dict]) -> list[str]:
    return [t["function"]["name"] for t in tools]


def ask(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_only_tools_relevant_to_the_request_are_sent():
    assert names(select_tools(ask("Create a file todo.md containing '- milk'"), TOOLS, 2400, 1)) == ["workspace__write_file"]
    assert "browser__open_page" not in names(select_tools(ask("Create a file todo.md"), TOOLS, 2400, 4))
    assert "browser__open_page" in names(select_tools(ask("open the page https://example.org"), TOOLS, 2400, 2))
    assert select_tools(ask("What is the capital of France?"), TOOLS, 2400, 4) == []
    search = names(select_tools(ask("search my files for TODO with a regex"), TOOLS, 2400, 1))
    assert search == ["workspace__grep"]


def test_a_named_tool_is_always_sent_and_order_is_kept():
    chosen = names(select_tools(ask("Use workspace__delete_path on old.txt, then list files"), TOOLS, 2400, 2))
    assert "workspace__delete_path" in chosen and chosen == sorted(chosen, key=names(TOOLS).index)


def test_the_choice_stays_the_same_for_every_step_of_a_run():
    first = ask("Write hello to a.txt with workspace__write_file")
    later = first + [
        {"role": "assistant", "content": "", "tool_calls": [{"id": "functions.workspace__write_file:0",
                                                             "type": "function", "function": {
                                                                 "name": "workspace__write_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "functions.workspace__write_file:0", "content": "grep browser page url"},
    ]
    assert select_tools(first, TOOLS, 2400, 3) == select_tools(later, TOOLS, 2400, 3)  # tool results do not change it


def test_compact_drops_schema_titles_but_not_a_parameter_named_title():
    tool = spec("notes__add", "Add a note.", title={"type": "string"}, body={"type": "string"})
    small = compact(tool)
    params = small["function"]["parameters"]
    assert "title" not in params and set(params["properties"]) == {"title", "body"}
    assert "title" not in params["properties"]["body"] and params["properties"]["title"] == {"type": "string"}


def test_tool_results_are_cut_and_say_how_much():
    messages = [{"role": "tool", "tool_call_id": "x", "content": "a" * 5000}, {"role": "user", "content": "b" * 5000}]
    out = shrink_results(messages, 2000)
    assert out[0]["content"].startswith("a" * 2000) and "3,000 more characters not shown" in out[0]["content"]
    assert out[1]["content"] == "b" * 5000 and messages[0]["content"] == "a" * 5000  # copies; the user's text stays


def test_without_a_fold_function_old_turns_go_first_when_the_context_is_short():
    system = {"role": "system", "content": "rules"}
    old = [{"role": "user", "content": "x" * 3000}, {"role": "assistant", "content": "y" * 3000}]
    turn = [{"role": "user", "content": "now this"}]
    assert fit([system, *old, *turn], 10_000) == [system, *old, *turn]
    assert fit([system, *old, *turn], 1_000) == [system, *turn]


def test_old_steps_are_folded_not_dropped_when_the_context_is_short():
    """The same policy as every model (agents.policy.compaction): old step groups become records, the turn stays."""
    system = {"role": "system", "content": "rules"}
    turn = [{"role": "user", "content": "now read b"}]

    def step(i: int) -> list[dict]:
        call = {"id": f"functions.workspace__read_file:{i}", "type": "function",
                "function": {"name": "workspace__read_file", "arguments": f'{{"path": "f{i}.txt"}}'}}
        return [{"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "name": "workspace__read_file",
                 "content": f"file {i} " + "word " * 600, "_artifact": f"{i:032x}"}]

    steps = [m for i in range(4) for m in step(i)]
    assert fit([system, *turn, *steps], 100_000, fit_within) == [system, *turn, *steps]
    folded = fit([system, *turn, *steps], 1_500, fit_within)
    assert folded[:2] == [system, *turn] and folded[-2:] == steps[-2:]  # the newest step stays verbatim
    record = folded[2]["content"]
    assert folded[2]["role"] == "user" and "1. workspace__read_file" in record and "3. workspace__read_file" in record


async def test_prepare_starts_the_server_and_nudges_after_tool_results(monkeypatch, tmp_path):
    from agents.models.presets import PRESETS

    model = tmp_path / "m.gguf"
    monkeypatch.setattr(adapter.weights, "model_for_use", lambda: model)
    started: list = []
    monkeypatch.setattr(adapter.runtime, "ensure_server", lambda path: started.append(path) or "http://127.0.0.1:1/v1")
    messages = ask("Read notes.txt with workspace__read_file") + [
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c", "type": "function", "function": {
            "name": "workspace__read_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": "z" * 9000},
    ]
    url, shaped, tools = await adapter.prepare(PRESETS["local"].info("any"), messages, TOOLS)
    assert url == "http://127.0.0.1:1/v1" and started == [model]
    assert shaped[-1] == {"role": "system", "content": AFTER_TOOLS}
    assert len(shaped[-2]["content"]) < 2100 and "workspace__read_file" in names(tools)
    assert all("title" not in t["function"]["parameters"] for t in tools)


def test_every_servers_tools_are_candidates_and_an_unrelated_one_stays_out() -> None:
    """No server filter (an mcp.json server's tools reach the model), but a geography question gets no finance tool:
    the 0.5B model answered '3M' to one after reading an unrelated tool's example."""
    from agents.models.presets import PRESETS

    info = PRESETS["local"].models["qwen2.5-coder-0.5b-instruct"]
    finance = spec("analysis__record_kpi", "Record a KPI, e.g. company '3M'.", company={"type": "string"})
    assert adapter.usable_tools(info, [*TOOLS, finance]) == [*TOOLS, finance]
    assert adapter.tools_for(info, ask("What is the capital of France?"), [*TOOLS, finance]) == []
    chosen = names(adapter.tools_for(info, ask("record the revenue KPI for company Acme"), [*TOOLS, finance]))
    assert chosen == ["analysis__record_kpi"]


def _after(request: str, calls: int) -> str:
    messages = ask(request)
    for n in range(calls):
        messages += [{"role": "assistant", "content": "", "tool_calls": [{"id": f"c{n}", "type": "function",
                                                                         "function": {"name": "t", "arguments": "{}"}}]},
                     {"role": "tool", "tool_call_id": f"c{n}", "content": "ok"}]
    return adapter.after_tools(messages)


def test_after_the_first_of_two_steps_the_note_names_the_next_step_not_an_answer():
    """Measured: after write_file, "answer in plain text" made the 0.5B model stop (and echo the note)."""
    request = "Write a Python file primes.py that prints the first 10 primes, then run it with the sandbox"
    note = _after(request, 1)
    assert note != AFTER_TOOLS and '"run it with the sandbox"' in note and "primes.py" in note
    assert _after(request, 2) == AFTER_TOOLS  # both steps done: answer
    assert _after("Read notes.txt and tell me the code written in it", 1) == AFTER_TOOLS
    assert _after("Call workspace__read_file with path notes.txt, then answer with the code.", 1) == AFTER_TOOLS
