"""storage.checkpoint: LangGraph checkpoints live in the app's database and survive reopening."""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph
from sqlalchemy import inspect

from storage import repo
from storage.checkpoint import open_checkpointer
from storage.db import Database


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def build(checkpointer: object):  # type: ignore[no-untyped-def]
    graph = StateGraph(State)
    graph.add_node("plan", lambda s: {"log": ["plan"]})
    graph.add_node("act", lambda s: {"log": ["act"]})
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "act")
    graph.add_edge("act", END)
    return graph.compile(checkpointer=checkpointer)  # type: ignore[arg-type]


async def checkpoint_round_trip(db: Database) -> None:
    """Run a two-node graph, reopen the saver on a new connection, and find its state again."""
    conv = repo.create_conversation(db)
    config = {"configurable": {"thread_id": conv.id}}
    async with open_checkpointer(db.url) as saver:
        result = await build(saver).ainvoke({"log": ["user"]}, config)
        assert result == {"log": ["user", "plan", "act"]}
    async with open_checkpointer(db.url) as saver:
        graph = build(saver)
        state = await graph.aget_state(config)
        assert state.values == {"log": ["user", "plan", "act"]} and state.next == ()
        history = [s async for s in graph.aget_state_history(config)]
        assert len(history) >= 3  # input, after plan, after act
        again = await graph.ainvoke({"log": ["more"]}, config)  # the thread continues from its checkpoint
        assert again["log"] == ["user", "plan", "act", "more", "plan", "act"]
    # Same database: app tables and checkpoint tables side by side, and the app still works.
    assert {"checkpoints", "conversations"} <= set(inspect(db.engine).get_table_names())
    assert repo.get_conversation(db, conv.id) is not None


async def test_sqlite_checkpoints_survive_reopen(db: Database) -> None:
    await checkpoint_round_trip(db)


async def test_sqlite_checkpointer_connection_settings(db: Database) -> None:
    async with open_checkpointer(db.url) as saver:
        conn = saver.conn  # type: ignore[attr-defined]
        for pragma, want in (("journal_mode", "wal"), ("busy_timeout", 5000), ("synchronous", 1)):
            async with conn.execute(f"PRAGMA {pragma}") as cur:
                assert (await cur.fetchone())[0] == want, pragma


def build_delta(checkpointer: object):  # type: ignore[no-untyped-def]
    """The planner's message channel (a DeltaChannel of OpenAI-format dicts) in a graph of ten steps."""
    from agents.planner.state import RunState, appended

    def step(state: RunState) -> dict:
        n = len(state["messages"])
        return {"messages": appended([{"role": "assistant", "content": f"step {n}", "_artifact": f"a{n}"}])}

    graph = StateGraph(RunState)
    graph.add_node("step", step)
    graph.add_edge(START, "step")
    graph.add_conditional_edges("step", lambda s: END if len(s["messages"]) > 10 else "step", ["step", END])
    return graph.compile(checkpointer=checkpointer)  # type: ignore[arg-type]


async def delta_round_trip(db: Database) -> None:
    """Each checkpoint stores only what its step added; a reopened saver rebuilds the list; pruning removes it all."""
    from agents.planner.state import appended
    from storage.checkpoint import prune_finished

    conv = repo.create_conversation(db)
    config = {"configurable": {"thread_id": conv.id}}
    async with open_checkpointer(db.url) as saver:
        await build_delta(saver).ainvoke({"messages": appended([{"role": "user", "content": "go"}])}, config)
    async with open_checkpointer(db.url) as saver:
        state = await build_delta(saver).aget_state(config)
        messages = state.values["messages"]
        # Dicts, in order, with our own keys: never turned into LangChain message objects.
        assert messages[0] == {"role": "user", "content": "go"} and len(messages) == 11
        assert all(type(m) is dict for m in messages) and messages[-1] == {
            "role": "assistant", "content": "step 10", "_artifact": "a10"}
        newest = (await saver.aget_tuple(config)).checkpoint
        assert "messages" not in newest["channel_values"]  # the list itself is not in the checkpoint
        await prune_finished(saver, conv.id)
        assert await saver.aget_tuple(config) is None


async def test_sqlite_planner_messages_are_stored_as_deltas_and_pruned(db: Database) -> None:
    await delta_round_trip(db)
