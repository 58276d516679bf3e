"""The embedded local model: pinned weights, the llama-cpp-python runtime installed on demand, a loopback server."""
