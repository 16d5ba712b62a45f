"""The shared kernel: plain types and rules every layer uses. It imports nothing of ours."""
