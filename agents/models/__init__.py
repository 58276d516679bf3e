"""The model layer: K2 presets, the litellm provider seam, model choice, text tool-call parsing, the local model."""
