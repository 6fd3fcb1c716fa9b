"""The scene file cannot be read, is a folder, or is too large."""

CODE = "SC003"
NAME = "unreadable-file"
SEVERITY = "error"
PHASE = "loader"
SUMMARY = "The scene file cannot be read, is a folder, or is too large."
