"""Benchmarks: soundscape side by side with livekit-agents' BackgroundAudioPlayer.

Run ``python -m bench all`` (or one part: ``python -m bench cpu``); ``--quick`` for a
one-minute pass. Each part is bench/parts/<part>.py; what they share is in bench/lib/,
the agents the job-level parts run as real workers in bench/agents/. Results go to
``bench/out/*.json``; ``python -m bench report`` (run by ``all``) writes docs/performance.md
from them.
"""
