"""Workflows built on the planner: sub-agents, agent swarms, COBOL sessions, skills in runs and the skill drafter."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agents.planner.tools import PlannerTool
    from agents.workflows.subagents import SubagentLimits


def planner_tools(subagent_limits: SubagentLimits) -> list[PlannerTool]:
    """The planner-level tools of the features that have one (AgentConfig.planner_tools): each registers itself."""
    from agents.workflows import skills_context, subagents
    from agents.workflows.swarm import spawn

    return [subagents.planner_tool(subagent_limits), spawn.planner_tool(subagent_limits), skills_context.planner_tool()]
