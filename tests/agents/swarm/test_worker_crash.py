"""A sub-agent whose model call dies with the model worker process (agents/models/call_worker.py) fails with a
clear error, is started once more like any failed sub-agent, and the swarm finishes."""

from __future__ import annotations

import asyncio
import os
import signal

from agents.models.call_worker import WORKER
from agents.planner.runner import Agent, RunRequest
from tests.agents.conftest import collect, of_type
from tests.agents.swarm.script import SwarmScript, spawn_args
from tests.agents.test_call_worker import READY_S
from tests.fakes.k2_server import FakeK2Server, Turn


async def test_a_sub_agent_whose_worker_died_is_started_once_more_and_the_swarm_finishes(
    swarm_agent: Agent, fake_k2: FakeK2Server
):
    assert await WORKER.start(wait_s=READY_S)
    victim = WORKER.pid
    killed: list[int] = []

    def kill_the_worker(body: dict) -> Turn | None:  # the first sub-agent call (the swarm's probe runs alone)
        if not killed and victim is not None:
            killed.append(victim)
            os.kill(victim, signal.SIGKILL)
            return Turn(content="never read", delay_s=2)
        return None

    goals = [f"part {n}" for n in range(4)]
    fake_k2.responder = SwarmScript(spawn_args(goals, 4), storm=kill_the_worker)
    events = await asyncio.wait_for(collect(swarm_agent.run(RunRequest("go"))), 120)
    finished = of_type(events, "subagent_finished")
    assert killed and len(finished) == 4 and all(e.status == "done" for e in finished)
    again = [e.message for e in of_type(events, "notice") if "starting it once more" in e.message]
    assert len(again) == 1 and "model worker process was killed by signal 9" in again[0]
    assert max(e.attempt for e in finished) == 2
