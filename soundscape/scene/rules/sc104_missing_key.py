"""A required key is missing."""

CODE = "SC104"
NAME = "missing-key"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "A required key is missing."
