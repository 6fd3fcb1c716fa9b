"""Scene templates for `soundscape new`: commented starting points that lint clean."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ...errors import ScaffoldError
from ...scene.model import NAME_RE

SCHEMA_FILE = "scene.schema.json"


@dataclass(frozen=True)
class Written:
    scene: Path
    schema: Path | None
    """The schema file written next to the scene (None: an existing one is referenced)."""


def templates() -> list[str]:
    """The names `--from` accepts."""
    root = resources.files(__name__) / "templates"
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def _checkout_schema(folder: Path) -> Path | None:
    """docs/scene.schema.json of the source checkout ``folder`` is in (not in the wheel)."""
    root = Path(__file__).resolve().parents[3]
    candidate = root / "docs" / SCHEMA_FILE
    if not candidate.is_file() or not folder.resolve().is_relative_to(root):
        return None
    return candidate


def render(template: str, name: str, file_name: str, schema_ref: str) -> str:
    """The template's text with the scene's name, file and schema path filled in."""
    if template not in templates():
        raise ScaffoldError(
            f"unknown template '{template}': choose one of {', '.join(templates())}"
        )
    text = (resources.files(__name__) / "templates" / f"{template}.yaml").read_text("utf-8")
    return (
        text.replace("__SCHEMA__", schema_ref)
        .replace("__NAME__", name)
        .replace("__FILE__", file_name)
    )


def scaffold(name: str, out: Path, template: str = "basic", *, force: bool = False) -> Written:
    """Write a new scene ``out`` from ``template``; never overwrites unless ``force``."""
    if not NAME_RE.match(name):
        raise ScaffoldError(
            f"'{name}' is not a valid scene name: start with a letter, then letters, digits, "
            "'-', '_' or '.' (at most 64)"
        )
    if out.exists() and not force:
        raise ScaffoldError(f"{out} already exists; pass --force to overwrite it")
    if out.exists() and not out.is_file():
        raise ScaffoldError(f"{out} exists and is not a file")
    folder = out.parent
    schema = _checkout_schema(folder)
    written_schema: Path | None = None
    if schema is None:
        # Outside a checkout (or installed): put the schema beside the scene for editors.
        from ...scene.model import schema as make_schema

        schema = folder / SCHEMA_FILE
        if not schema.exists():
            written_schema = schema
    ref = Path(os.path.relpath(schema.resolve(), folder.resolve())).as_posix()
    text = render(template, name, out.name, ref)
    folder.mkdir(parents=True, exist_ok=True)
    if written_schema is not None:
        written_schema.write_text(json.dumps(make_schema(), indent=2) + "\n", encoding="utf-8")
    out.write_text(text, encoding="utf-8")
    return Written(out, written_schema)
