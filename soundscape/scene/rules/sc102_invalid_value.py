"""A value of the wrong type or form (a level, a duration, a name…)."""

CODE = "SC102"
NAME = "invalid-value"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "A value of the wrong type or form (a level, a duration, a name…)."
