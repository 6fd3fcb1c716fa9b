"""A corpus of broken scene files: each gets one clear diagnostic at file:line:col, fast and small."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from soundscape.errors import SceneError
from soundscape.lint import lint_file
from soundscape.scene import load

CORPUS = Path(__file__).resolve().parent / "corpus" / "bad_scenes"

# file → (code, line, col, a fragment of the message)
EXPECTED = {
    "alias_bomb.yaml": ("SC001", 1, 24, "alias bomb"),
    "bom_ok_but_wrong.yaml": ("SC101", 3, 43, "did you mean 'gain'"),
    "circular_a.yaml": ("SC004", 2, 10, "circular extends/include"),
    "circular_b.yaml": ("SC004", 2, 10, "circular extends/include"),
    "deep_block.yaml": ("SC001", 67, 131, "nesting deeper than 64"),
    "deep_flow.yaml": ("SC001", 2, 71, "nesting deeper than 64"),
    "duplicate_key.yaml": ("SC002", 4, 3, "first defined at line 3"),
    "empty.yaml": ("SC104", 1, 1, "missing required key 'version'"),
    "extends_missing.yaml": ("SC004", 2, 10, "'nowhere.yaml' not found"),
    "gain_too_loud.yaml": ("SC103", 3, 49, "above the +6 dB maximum"),
    "instant_cycle.yaml": ("SC303", 3, 26, "a → b → a"),
    "latin1.yaml": ("SC001", 2, 10, "invalid UTF-8 byte 0xe9"),
    "line_separator.yaml": ("SC001", 2, 32, "U+2028 (line separator) ends the line"),
    "negative_duration.yaml": ("SC103", 3, 52, "cannot be negative"),
    "nul_byte.yaml": ("SC001", 2, 8, "NUL byte"),
    "only_comment.yaml": ("SC104", 1, 1, "missing required key 'version'"),
    "python_tag.yaml": ("SC001", 2, 7, "unsupported YAML tag"),
    "scalar_document.yaml": ("SC102", 1, 1, "must be a mapping"),
    "syntax_bad_indent.yaml": ("SC001", 5, 4, "YAML syntax error"),
    "syntax_unclosed_flow.yaml": ("SC001", 3, 1, "YAML syntax error"),
    "tab_indent.yaml": ("SC001", 3, 1, "'\\t'"),
    "undefined_state.yaml": ("SC202", 4, 30, "state 'thinkin' is not defined"),
    "unknown_event.yaml": ("SC204", 4, 10, "did you mean 'agent.thinking'"),
    "unknown_top_key.yaml": ("SC101", 2, 1, "did you mean 'layers'"),
    "url_source.yaml": ("SC102", 3, 18, "URLs are not sources"),
    "utf16.yaml": ("SC001", 1, 1, "UTF-16"),
    "weird_unicode_name.yaml": ("SC102", 2, 10, "'idle\\u202e' is not a valid name"),
    "wrong_types.yaml": ("SC102", 2, 9, "expected a mapping, got a list"),
    "wrong_version.yaml": ("SC102", 1, 10, "expected 1, got 2"),
    "yaml11_boolean_version.yaml": ("SC102", 1, 10, "got 'yes'"),  # YAML 1.2: 'yes' is a string
    "yaml11_octal_gain.yaml": ("SC103", 3, 49, "23.5 dB"),  # 0o17 is 15, i.e. +23.5 dB
}


# A cycle is reported at the link that closes it, which is in the other file.
REPORTED_IN = {"circular_a.yaml": "circular_b.yaml", "circular_b.yaml": "circular_a.yaml"}


def test_the_corpus_is_covered():
    assert sorted(p.name for p in CORPUS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_one_clear_diagnostic_in_bounded_time_and_memory(name):
    code, line, col, fragment = EXPECTED[name]
    path = CORPUS / name
    tracemalloc.start()
    t0 = time.process_time()
    with pytest.raises(SceneError) as ei:
        load(path)
    cpu = time.process_time() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    (d,) = [d for d in ei.value.diagnostics if d.severity == "error"]
    assert (d.code, d.pos.line, d.pos.col) == (code, line, col)
    assert fragment in d.message
    assert Path(d.pos.file).name == REPORTED_IN.get(name, name)
    # Generous bounds (CI machines vary); what they rule out is seconds and hundreds of MB.
    assert cpu < 5.0
    assert peak < 64_000_000
    # The linter reports the same first error and never raises.
    lint_codes = [(x.code, x.pos.line, x.pos.col) for x in lint_file(path) if x.severity == "error"]
    assert (code, line, col) in lint_codes


def test_a_huge_file_is_refused_before_parsing(tmp_path):
    big = tmp_path / "huge.yaml"
    big.write_text("version: 1\n" + "# padding\n" * 120_000, "utf-8")
    with pytest.raises(SceneError) as ei:
        load(big)
    (d,) = ei.value.diagnostics
    assert d.code == "SC003" and "at most 1,000,000 bytes" in d.message
