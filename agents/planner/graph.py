"""The planner as a LangGraph StateGraph: call_model -> one run_tool task per tool call (concurrent) -> call_model."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from agents.planner.nodes import call_model, run_tool
from agents.planner.state import RunContext, RunState


def after_model(state: RunState) -> list[Send] | Literal["__end__"]:
    """Fan out one run_tool task per tool call, or end the run (an answer, a budget, a loop or an error)."""
    if state.get("stop_reason"):
        return END
    calls = state["messages"][-1].get("tool_calls") or []
    # The planner's own keys, never the model's ids (a model can reuse an id to pass a read off as a sibling's).
    step = state.get("steps", 0)
    batch = [f"{step}.{n}" for n in range(len(calls))]  # the approval gate ignores content read by sibling calls
    return [Send("run_tool", {"call": call, "key": key, "batch": batch}) for call, key in zip(calls, batch)] or END


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> Any:
    """The compiled planner graph, checkpointed by the given saver after every step."""
    graph = StateGraph(RunState, context_schema=RunContext)
    graph.add_node("call_model", call_model)
    graph.add_node("run_tool", run_tool)
    graph.add_edge(START, "call_model")
    graph.add_conditional_edges("call_model", after_model, ["run_tool", END])
    graph.add_edge("run_tool", "call_model")
    return graph.compile(checkpointer=checkpointer)
