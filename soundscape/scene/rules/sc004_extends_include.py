"""An extended or included file is missing, unreadable, or part of a cycle."""

CODE = "SC004"
NAME = "extends-include"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "An extended or included file is missing, unreadable, or part of a cycle."
