"""Every rule is registered with a well-formed code and name, and documented in docs/lint-rules.md."""

from __future__ import annotations

import re

from support.paths import ROOT

from soundscape.scene.rules import ALL_RULES


def test_rule_codes_are_unique_and_well_formed():
    codes = [r.code for r in ALL_RULES]
    assert len(codes) == len(set(codes))
    for r in ALL_RULES:
        assert re.fullmatch(r"SC\d{3}", r.code)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.name)
        assert r.severity in ("error", "warning", "info")
        assert r.summary.endswith(".")


def test_every_rule_has_a_docs_section_with_its_severity_example_fix_and_silence():
    doc = (ROOT / "docs" / "lint-rules.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (SC\d{3} [a-z-]+)\n(.*?)(?=^## |\Z)", doc, re.M | re.S))
    assert sorted(sections) == sorted(f"{r.code} {r.name}" for r in ALL_RULES)
    for r in ALL_RULES:
        body = sections[f"{r.code} {r.name}"]
        assert f"**Severity:** {r.severity}" in body, r.code
        assert "```" in body and "**Fix:**" in body and "**Silence:**" in body, r.code
