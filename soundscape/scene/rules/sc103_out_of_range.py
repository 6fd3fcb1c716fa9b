"""A value outside its allowed range (gain above +6 dB, negative durations or weights…)."""

CODE = "SC103"
NAME = "out-of-range"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "A value outside its allowed range (gain above +6 dB, negative durations or weights…)."
