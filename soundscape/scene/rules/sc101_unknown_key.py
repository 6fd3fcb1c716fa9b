"""A key the scene language does not know (often a typo)."""

CODE = "SC101"
NAME = "unknown-key"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "A key the scene language does not know (often a typo)."
