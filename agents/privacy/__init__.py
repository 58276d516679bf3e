"""Privacy: personal data and secrets become placeholders before a request leaves the machine (issue 22)."""
