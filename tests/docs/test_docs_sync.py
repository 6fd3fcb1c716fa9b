"""docs/scene-language.md and docs/scene.schema.json stay in step with the models.

The reference must name every key of every model in the section about that model,
show it in a YAML example there, and document every event; its YAML examples must be
valid scenes (or valid parts of one); the committed schema must be the generated one.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from soundscape.errors import SceneError
from soundscape.lint import lint_file
from soundscape.scene import loads, schema
from soundscape.scene.diagnose import validate
from soundscape.scene.events import EVENTS
from soundscape.scene.merge import Merged
from soundscape.scene.yamlio import parse

ROOT = Path(__file__).resolve().parents[2]
DOC_PATH = ROOT / "docs" / "scene-language.md"
DOC = DOC_PATH.read_text(encoding="utf-8")
SCHEMA = schema()


def _properties(definition: dict[str, Any]) -> list[str]:
    """Property names of a model's schema, looking inside the shorthand ``anyOf``."""
    for alt in [definition, *definition.get("anyOf", [])]:
        if "properties" in alt:
            return list(alt["properties"])
    return []


MODELS = {"Scene": list(SCHEMA["properties"])} | {
    name: _properties(d) for name, d in SCHEMA["$defs"].items() if _properties(d)
}


def _section(model: str) -> str:
    """The doc text from the line naming ``model`` in the schema to the next ``## `` heading."""
    marker = f"(`{model}` in the schema)"
    start = DOC.find(marker)
    assert start >= 0, f"docs/scene-language.md has no section marked {marker!r}"
    end = DOC.find("\n## ", start)
    return DOC[start : end if end >= 0 else len(DOC)]


def _yaml_blocks(text: str) -> list[tuple[int, str]]:
    """Every fenced ```yaml block with the line it starts on in the doc."""
    out = []
    for m in re.finditer(r"^( *)```yaml\n(.*?)^\1```", text, re.S | re.M):
        indent = len(m.group(1))
        body = "".join(line[indent:] for line in m.group(2).splitlines(keepends=True))
        out.append((text.count("\n", 0, m.start()) + 2, body))
    return out


def test_committed_schema_is_the_generated_one():
    committed = json.loads((ROOT / "docs" / "scene.schema.json").read_text(encoding="utf-8"))
    assert committed == SCHEMA, "regenerate: soundscape schema -o docs/scene.schema.json"


def test_every_model_has_a_section():
    assert set(MODELS) >= {"Scene", "Sound", "Variant", "Layer", "Cue", "Transition"}
    for model in MODELS:
        _section(model)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_key_is_described_in_its_models_section(model: str):
    section = _section(model)
    missing = [k for k in MODELS[model] if f"`{k}`" not in section]
    assert missing == [], f"{model}: keys missing from its section: {missing}"


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_key_has_an_example_in_its_models_section(model: str):
    examples = "\n".join(body for _, body in _yaml_blocks(_section(model)))
    missing = [k for k in MODELS[model] if not re.search(rf"(^|[\s{{,-]){k}:", examples, re.M)]
    assert missing == [], f"{model}: keys without a YAML example in its section: {missing}"


def test_every_schema_property_appears_in_the_doc():
    names = set(SCHEMA["properties"])
    for d in SCHEMA["$defs"].values():
        names |= set(_properties(d))
    assert sorted(n for n in names if f"`{n}`" not in DOC) == []


@pytest.mark.parametrize("event", list(EVENTS))
def test_every_event_and_its_fields_are_in_the_events_table(event: str):
    rows = [line for line in DOC.splitlines() if line.startswith(f"| `{event}` |")]
    assert len(rows) == 1, f"the events table needs exactly one row for {event}"
    missing = [f for f in EVENTS[event].fields if f"`{f}`" not in rows[0]]
    assert missing == []


def test_doc_has_the_modeline_tip():
    assert "# yaml-language-server: $schema=../docs/scene.schema.json" in DOC


BLOCKS = _yaml_blocks(DOC)
SCENE_KEYS = set(SCHEMA["properties"])


def test_the_doc_has_examples():
    assert len(BLOCKS) > 20


@pytest.fixture(scope="module")
def scenes_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Examples name files in scenes/ (extends: office.yaml), so they live in a copy of it."""
    dest = tmp_path_factory.mktemp("doc") / "scenes"
    shutil.copytree(ROOT / "scenes", dest)
    return dest


@pytest.mark.parametrize(("line", "body"), BLOCKS, ids=[f"line{n}" for n, _ in BLOCKS])
def test_yaml_examples_are_valid(scenes_copy: Path, line: int, body: str):
    """Whole scenes load and lint clean; parts of a scene validate; the rest parses."""
    path = scenes_copy / f"doc-example-line{line}.yaml"
    where = str(path)
    try:
        doc = parse(body, where)
        if not isinstance(doc.data, dict) or not set(doc.data) <= SCENE_KEYS:
            return  # a few loose keys (units), not a scene
        if "version" in doc.data:
            loads(body, where)
            path.write_text(body, encoding="utf-8")
            bad = [d for d in lint_file(path) if d.severity != "info"]
            assert bad == [], f"docs/scene-language.md:{line}: " + "\n".join(map(str, bad))
        else:
            data = {"version": 1, **doc.data}
            validate(Merged(where, data, dict(doc.values), dict(doc.keys)))
    except SceneError as e:
        pytest.fail(f"docs/scene-language.md:{line}: example is invalid:\n{e}")
