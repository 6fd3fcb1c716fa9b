"""The file is not valid YAML 1.2 (or not UTF-8 text)."""

CODE = "SC001"
NAME = "yaml-syntax"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "The file is not valid YAML 1.2 (or not UTF-8 text)."
