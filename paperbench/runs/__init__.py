"""Eval runs: the orchestrator over run directories, their records and provenance, and the
leaderboard and report computed from them."""
