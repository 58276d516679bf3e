"""Planner overhead: 300 steps of our LangGraph planner vs two baselines making the same litellm + hub calls.

- bare: a plain loop, no graph, no storage (the irreducible work);
- react: LangGraph's prebuilt create_react_agent with a chat model that makes the very same litellm call and a tool
  that makes the very same hub call, checkpointed in SQLite as our planner is (react_nockpt: without a checkpointer).

All talk to an in-process zero-latency model (a litellm CustomLLM) and a no-op MCP tool over stdio, so the ratios are
what each agent loop itself adds: graph, checkpoints after every step, step rows, events.
Prints `name: value` lines. Targets: planner_vs_bare_ratio <= 1.5, planner_vs_react_ratio <= 1.0,
planner_rss_growth_mb < 50.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402
import psutil  # noqa: E402
from litellm.llms.custom_llm import CustomLLM  # noqa: E402

from agents.hub.config import ServerConfig  # noqa: E402
from agents.models.presets import ModelInfo  # noqa: E402
from agents.models.providers import ModelSpec  # noqa: E402

STEPS = 300
ROUNDS = 3
TOOL = "bench__echo"


class ZeroLatencyK2(CustomLLM):
    """Answers instantly: a tool call while fewer than STEPS tool results exist, then a final text."""

    async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        messages = kwargs.get("messages") or args[2]
        done = sum(1 for m in messages if m.get("role") == "tool")
        if done >= STEPS:
            yield {"text": "finished", "tool_use": None, "is_finished": True, "finish_reason": "stop",
                   "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}, "index": 0}
            return
        call = {"id": f"functions.{TOOL}:{done}", "type": "function", "index": 0,
                "function": {"name": TOOL, "arguments": f'{{"text": "step {done}"}}'}}
        yield {"text": "", "tool_use": call, "is_finished": True, "finish_reason": "tool_calls",
               "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}, "index": 0}


litellm.custom_provider_map = [{"provider": "zerok2", "custom_handler": ZeroLatencyK2()}]
SYSTEM = (ROOT / "agents" / "prompts" / "system.md").read_text().format(today="2026-01-01")
SPEC = ModelSpec("zerok2", "k2", None, "none", ModelInfo(fixed_sampling=True), "zerok2/")


def tool_server() -> ServerConfig:
    return ServerConfig(name="bench", command=sys.executable, args=["-m", "tests.agents.hub_servers.toolbox"],
                        cwd=str(ROOT), env={"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "")},
                        trusted=True)  # its results are ours, not untrusted content: no approvals in the loop


async def bare_loop(hub: Any, tools: list[dict[str, Any]]) -> float:
    """The irreducible work: the same litellm stream and hub call per step, no graph, no storage."""
    started = time.perf_counter()
    # The same request the planner sends: system prompt, user turn, then assistant/tool pairs.
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "go"}]
    while True:
        resp = await litellm.acompletion(model=SPEC.litellm_model, messages=messages, tools=tools, stream=True,
                                         api_key="none", stream_options={"include_usage": True}, tool_choice="auto",
                                         timeout=600.0, num_retries=0)
        calls, text = [], ""
        async for chunk in resp:
            delta = chunk.choices[0].delta if chunk.choices else None
            text += (delta.content or "") if delta else ""
            calls += [{"id": c.id, "type": "function", "function": {"name": c.function.name,
                       "arguments": c.function.arguments}} for c in (delta.tool_calls or [])] if delta else []
        messages.append({"role": "assistant", "content": text, "tool_calls": calls or None})
        if not calls:
            return time.perf_counter() - started
        for c in calls:
            result = await hub.call(c["function"]["name"], c["function"]["arguments"])
            messages.append({"role": "tool", "tool_call_id": c["id"], "name": c["function"]["name"],
                             "content": result.text})


class LiteLLMChat:
    """Built lazily (langchain-core is imported only here): a chat model making the bare loop's litellm call."""

    @staticmethod
    def build() -> Any:
        from langchain_core.language_models.chat_models import BaseChatModel
        from langchain_core.messages import AIMessage, convert_to_openai_messages
        from langchain_core.outputs import ChatGeneration, ChatResult
        from langchain_core.utils.function_calling import convert_to_openai_tool

        class Chat(BaseChatModel):
            tools: list[dict[str, Any]] = []

            @property
            def _llm_type(self) -> str:
                return "litellm-bench"

            def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
                return self.model_copy(update={"tools": [convert_to_openai_tool(t) for t in tools]})

            def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
                raise NotImplementedError("async only")

            async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
                sent = [{"role": "system", "content": SYSTEM}, *convert_to_openai_messages(messages)]
                resp = await litellm.acompletion(model=SPEC.litellm_model, messages=sent, tools=self.tools,
                                                 stream=True, api_key="none", stream_options={"include_usage": True},
                                                 tool_choice="auto", timeout=600.0, num_retries=0)
                text, calls = "", []
                async for chunk in resp:
                    delta = chunk.choices[0].delta if chunk.choices else None
                    text += (delta.content or "") if delta else ""
                    calls += [{"id": c.id, "name": c.function.name, "args": json.loads(c.function.arguments)}
                              for c in (delta.tool_calls or [])] if delta else []
                return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text, tool_calls=calls))])

        return Chat()


def react_agent(hub: Any, checkpointer: Any) -> Any:
    """create_react_agent over the same model call and the same hub tool."""
    from langchain_core.tools import StructuredTool
    from langgraph.prebuilt import create_react_agent

    async def echo(text: str) -> str:
        return (await hub.call(TOOL, {"text": text})).text

    tool = StructuredTool.from_function(coroutine=echo, name=TOOL, description="Return the text unchanged.")
    return create_react_agent(LiteLLMChat.build(), [tool], checkpointer=checkpointer)


async def react_run(graph: Any) -> float:
    started = time.perf_counter()
    config = {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": 2 * STEPS + 10}
    out = await graph.ainvoke({"messages": [{"role": "user", "content": "go"}]}, config)
    assert out["messages"][-1].content == "finished", out["messages"][-1]
    return time.perf_counter() - started


async def planner_run(agent: Any) -> float:
    from agents.planner.runner import RunRequest

    started = time.perf_counter()
    final = None
    async for event in agent.run(RunRequest(prompt="go", chain=[SPEC])):
        final = event
    assert final is not None and final.reason == "done" and final.steps == STEPS + 1, final
    return time.perf_counter() - started


async def main() -> None:
    from agents.planner.runner import Agent

    home = Path(tempfile.mkdtemp(prefix="k2bench-"))
    os.environ["K2HUB_HOME"] = str(home)
    (home / "mcp.json").write_text('{"mcpServers": {}}')
    from app.config import Settings
    from app.services import agent_config

    # The app's own configuration (defaults, the features' planner tools), with a bigger budget and no built-ins.
    config = agent_config(Settings(home=home, max_steps=STEPS + 10, max_cost_usd=1e9))
    config.builtin = []
    config.privacy = None  # like the baselines: the same text to the model (bench_redaction.py measures redaction)
    agent = await Agent.open(config, database_url=f"sqlite:///{home}/k2hub.db")
    # No built-in servers: the no-op tool server alone, so both sides call the very same tool process.
    from agents.hub.hub import Hub

    await agent.hub.aclose()
    agent.hub = Hub([tool_server()], default_timeout_s=60)
    await agent.hub.start()
    tools = [t for t in agent.hub.tools() if t["function"]["name"] == TOOL]
    proc = psutil.Process()
    from storage.checkpoint import open_checkpointer

    async with open_checkpointer(f"sqlite:///{home}/react.db") as saver:
        react, react_nockpt = react_agent(agent.hub, saver), react_agent(agent.hub, None)
        try:
            await bare_loop(agent.hub, tools)  # warm-up: imports, connections, caches
            await planner_run(agent)
            await react_run(react)
            bare, planner, reacts, nockpt, bare_cpu, planner_cpu, react_cpu, rss = [], [], [], [], [], [], [], []
            # Interleaved rounds, best of each: these machines are noisy, the minimum is the least disturbed run.
            for _ in range(ROUNDS):
                cpu = time.process_time()
                bare.append(await bare_loop(agent.hub, tools))
                bare_cpu.append(time.process_time() - cpu)
                before, cpu = proc.memory_info().rss, time.process_time()
                planner.append(await planner_run(agent))
                planner_cpu.append(time.process_time() - cpu)
                rss.append((proc.memory_info().rss - before) / 2**20)
                cpu = time.process_time()
                reacts.append(await react_run(react))
                react_cpu.append(time.process_time() - cpu)
                nockpt.append(await react_run(react_nockpt))
        finally:
            await agent.aclose()
    print(f"bare_loop_s: {min(bare):.3f}")
    print(f"planner_s: {min(planner):.3f}")
    print(f"planner_ms_per_step: {1000 * min(planner) / STEPS:.2f}")
    print(f"planner_vs_bare_ratio: {min(planner) / min(bare):.2f}")
    print(f"planner_vs_bare_cpu_ratio: {min(planner_cpu) / min(bare_cpu):.2f}")
    print(f"react_s: {min(reacts):.3f}")
    print(f"react_nockpt_s: {min(nockpt):.3f}")
    print(f"planner_vs_react_ratio: {min(planner) / min(reacts):.2f}")
    print(f"planner_vs_react_cpu_ratio: {min(planner_cpu) / min(react_cpu):.2f}")
    print(f"planner_vs_react_nockpt_ratio: {min(planner) / min(nockpt):.2f}")
    print(f"planner_rss_growth_mb: {max(rss):.1f}")


if __name__ == "__main__":
    asyncio.run(main())
