"""The skills hub server: the Agent-Hub skills registry as MCP tools."""
