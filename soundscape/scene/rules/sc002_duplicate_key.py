"""A mapping sets the same key twice; YAML would silently keep one."""

CODE = "SC002"
NAME = "duplicate-key"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "A mapping sets the same key twice; YAML would silently keep one."
