"""The MCP client hub: every tool the planner can call, from built-in and external servers alike."""
