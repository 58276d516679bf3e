"""Builds the agent from settings: the one place where app configuration turns into agents objects."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from agents.policy.budget import Limits

if TYPE_CHECKING:
    from agents.planner.runner import Agent, AgentConfig
    from app.config import Settings


def agent_config(settings: Settings) -> AgentConfig:
    """The agent's view of the settings, with the features' planner-level tools (sub-agents, skills)."""
    from agents.planner.runner import AgentConfig
    from agents.workflows import planner_tools
    from agents.workflows.subagents import SubagentLimits
    from agents.privacy.kinds import parse_kinds
    from agents.privacy.session import PrivacyConfig

    subagents = SubagentLimits(settings.subagent_concurrency, settings.subagent_max_steps,
                               settings.subagent_max_tokens, settings.subagent_max_cost_usd)
    return AgentConfig(
        home=settings.home,
        limits=Limits(settings.max_steps, settings.max_tokens, settings.max_cost_usd, settings.max_wall_s),
        tool_timeout_s=settings.tool_timeout_s,
        result_chars=settings.tool_result_chars,
        provider=settings.provider,
        model=settings.model,
        base_url=settings.base_url,
        api_key=settings.api_key,
        fallbacks=[f.strip() for f in settings.fallbacks.split(",") if f.strip()],
        builtin=split_names(settings.builtin_servers),
        server_env=settings.server_env(),
        workspaces=settings.workspaces,
        local=settings.local,
        planner_tools=planner_tools(subagents),
        privacy=PrivacyConfig(settings.redact, parse_kinds(settings.redact_kinds)),
        library_dirs=split_names(settings.library_dirs) or [],
        context_window=settings.context_window,
    )


def split_names(text: str) -> list[str] | None:
    """'a, b' -> ['a', 'b']; empty -> None (meaning: all)."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


async def open_agent(settings: Settings) -> Agent:
    """An Agent with its database, checkpointer and MCP servers running (close it with aclose)."""
    from agents.models import providers
    from agents.planner.runner import Agent
    from agents.policy.saved_budgets import saved_limits

    # litellm takes seconds to import: do it while the MCP servers start.
    threading.Thread(target=providers.litellm_module, daemon=True).start()
    url = settings.database_url or f"sqlite:///{settings.home / 'k2hub.db'}"
    agent = await Agent.open(agent_config(settings), database_url=url)
    try:  # budgets saved in the Settings tab replace the K2HUB_MAX_* defaults
        agent.config.limits = await asyncio.to_thread(saved_limits, agent.db, agent.config.limits)
    except BaseException:
        await agent.aclose()
        raise
    return agent
