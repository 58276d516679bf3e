"""Agent swarm (issue 20): the model splits a task across parallel sub-agents (`agents__spawn`).

- tasks.py: the tool's spec and its arguments as tasks; results checked against their output schemas.
- pacer.py: the per-provider AIMD concurrency and the shared budget every sub-agent model call passes through.
- branch.py: one sub-agent, a planner run of its own (own context, budget, tool subset).
- scheduler.py: runs the branches (cap, retry once, stop one or all), stores their state (storage/swarms.py).
- spawn.py: the planner-level tool: plan → scheduler → compact digest with artifact ids.
"""
