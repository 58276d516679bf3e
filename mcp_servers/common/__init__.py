"""What the built-in servers share: the command line, workspace paths, settings, limits, token counting."""
