"""Two-spirals optimizer comparison (numpy only)."""
