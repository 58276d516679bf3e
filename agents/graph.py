"""The planner as a LangGraph StateGraph: call_model -> (fan out run_tool per call) -> review -> call_model ..."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from agents import budget
from agents.nodes import call_model, review, run_tool
from agents.state import RunContext, RunState


def after_model(state: RunState, runtime: Runtime[RunContext]) -> list[Send] | Literal["review", "__end__"]:
    """Fan out one run_tool task per tool call (they run concurrently), or end the run."""
    if state.get("stop_reason"):
        return END
    last = state["messages"][-1]
    calls = last.get("tool_calls") or []
    if not calls:
        return END
    if budget.exceeded(state, runtime.context.limits):
        # Tools are not started once a budget is spent; review records which one.
        return "review"
    return [Send("run_tool", {"call": call}) for call in calls]


def after_review(state: RunState) -> Literal["call_model", "__end__"]:
    """Back to the model unless review decided the run must stop."""
    return END if state.get("stop_reason") else "call_model"


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> Any:
    """The compiled planner graph, checkpointed by the given saver."""
    graph = StateGraph(RunState, context_schema=RunContext)
    graph.add_node("call_model", call_model)
    graph.add_node("run_tool", run_tool)
    graph.add_node("review", review)
    graph.add_edge(START, "call_model")
    graph.add_conditional_edges("call_model", after_model, ["run_tool", "review", END])
    graph.add_edge("run_tool", "review")
    graph.add_conditional_edges("review", after_review, ["call_model", END])
    return graph.compile(checkpointer=checkpointer)
