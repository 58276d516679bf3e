"""Run policies: approvals for untrusted content, budgets, the loop guard and the long-context policy."""
