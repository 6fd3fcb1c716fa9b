"""`soundscape new`: every template writes a commented scene that loads and lints clean."""

from __future__ import annotations

import json
import re

import pytest

from soundscape.authoring.scaffold import templates
from soundscape.cli.main import main
from soundscape.engine import Engine, compile_scene
from soundscape.lint import lint_file
from soundscape.scene import load, schema


def test_the_office_template_is_offered():
    assert {"basic", "office", "call-center"} <= set(templates())


@pytest.mark.parametrize("template", templates())
def test_template_loads_lints_clean_and_points_at_the_schema(tmp_path, capsys, template):
    out = tmp_path / "scenes" / "front-desk.yaml"
    assert main(["new", "front-desk", "--from", template, "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out} (from the '{template}' template)" in said
    text = out.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    m = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert m, first
    ref = out.parent / m[1]
    assert json.loads(ref.read_text(encoding="utf-8")) == schema()
    assert sum(1 for line in text.splitlines() if line.lstrip().startswith("#")) >= 4
    assert "__" not in text  # every placeholder filled
    scene = load(out)
    assert scene.name == "front-desk"
    assert lint_file(out) == []
    # It plays: the initial state and layers start without errors.
    audio = Engine(compile_scene(scene, rate=16000)).render(16000)
    assert audio.shape == (16000, 1) and float(abs(audio).max()) > 0


def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "mine.yaml"
    out.write_text("version: 1  # my work\n", encoding="utf-8")
    assert main(["new", "mine", "-o", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"soundscape new: {out} already exists; pass --force to overwrite it\n"
    )
    assert out.read_text(encoding="utf-8") == "version: 1  # my work\n"
    assert main(["new", "mine", "-o", str(out), "--force", "--from", "office"]) == 0
    assert "builtin:office-ambience" in out.read_text(encoding="utf-8")


def test_folder_output_and_default_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "lobby"]) == 0
    assert load(tmp_path / "lobby.yaml").name == "lobby"
    (tmp_path / "scenes").mkdir()
    assert main(["new", "cafe", "-o", "scenes"]) == 0
    assert main(["new", "bar", "-o", "more/"]) == 0
    assert (tmp_path / "scenes" / "cafe.yaml").is_file()
    assert (tmp_path / "more" / "bar.yaml").is_file()
    capsys.readouterr()
    # One schema per folder: the second scene beside it references the same file.
    assert main(["new", "pub", "-o", "more/"]) == 0
    said = capsys.readouterr().out
    assert "scene.schema.json" not in said
    assert (
        (tmp_path / "more" / "pub.yaml")
        .read_text(encoding="utf-8")
        .startswith("# yaml-language-server: $schema=scene.schema.json\n")
    )


def test_bad_name_and_unknown_template(tmp_path, capsys):
    out = tmp_path / "x.yaml"
    assert main(["new", "my scene!", "-o", str(out)]) == 1
    assert "'my scene!' is not a valid scene name" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit) as e:
        main(["new", "x", "--from", "nope"])
    assert e.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
