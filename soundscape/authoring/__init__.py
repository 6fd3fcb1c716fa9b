"""Tools for people who write scenes: the state diagram, `soundscape new`, the live preview."""
