"""`soundscape lint`: rules, runner and output formats."""

from .runner import LintOptions, lint_file

__all__ = ["LintOptions", "lint_file"]
