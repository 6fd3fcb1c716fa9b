"""Agents the benchmarks run as real livekit-agents workers (one process per job)."""
