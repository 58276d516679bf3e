"""What the built-in servers share: the command line, workspace paths, limits, token counting."""
