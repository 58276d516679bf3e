"""Workflows built on the planner: sub-agents, COBOL sessions, skills in runs and the skill drafter."""
