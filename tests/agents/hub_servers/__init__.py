"""Tiny MCP servers the hub tests start as subprocesses (stdio or streamable HTTP)."""
