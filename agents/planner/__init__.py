"""The planner: the LangGraph graph, its nodes and state, and the runner that drives a conversation turn."""
