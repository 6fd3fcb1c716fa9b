"""`soundscape lint` as a user runs it: output formats, exit codes and options."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from soundscape.cli.main import main
from soundscape.scene.rules import ALL_RULES

WriteScene = Callable[..., Path]

# One warning (SC205) and one info (SC503); no audio decoding is needed.
WARN_SCENE = """
version: 1
sounds:
  spare: builtin:hold-music
states: {idle: {}, busy: {}}
transitions:
  - {on: tool.started, when: {name: lookup}, to: busy}
  - {on: tool.ended, to: idle}
layers: {bed: builtin:office-ambience}
"""
ERROR_SCENE = """
version: 1
layers:
  room: {sound: ofice}
  bed: office
sounds:
  office: builtin:office-ambience
"""


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["lint", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_text_output_shows_position_source_caret_hint_and_count(write_scene, capsys):
    path = write_scene(WARN_SCENE)
    code, out, _ = run(capsys, path, "--no-assets")
    assert code == 0  # a warning alone does not fail the run
    assert out == (
        f"{path}:3:3: info: sound 'spare' is defined but the scene never plays it [SC503]\n"
        "  3 |   spare: builtin:hold-music\n"
        "    |   ^~~~~\n"
        "  hint: play it from a layer, cue or scatter, or remove it; if your code plays it "
        '(`scape.play("spare")`), mark it `from_code: true`\n'
        f"{path}:6:31: warning: event 'tool.started' has no field 'name', so this transition "
        "never fires [SC205]\n"
        "  6 |   - {on: tool.started, when: {name: lookup}, to: busy}\n"
        "    | " + " " * 30 + "^~~~\n"
        "  hint: event 'tool.started' carries: tool, call_id\n"
        "1 file checked: 1 warning, 1 info.\n"
    )


def test_strict_makes_warnings_fail(write_scene, capsys):
    path = write_scene(WARN_SCENE)
    assert run(capsys, path, "--no-assets", "--strict")[0] == 1


def test_infos_never_fail_even_with_strict(write_scene, capsys):
    path = write_scene(
        "version: 1\nsounds: {spare: builtin:hold-music}\nlayers: {bed: spare.wav}\n"
    )
    code, out, _ = run(capsys, path, "--no-assets", "--strict")
    assert code == 0
    assert out.endswith("1 file checked: 1 info.\n")


def test_errors_exit_1(write_scene, capsys):
    path = write_scene(ERROR_SCENE)
    code, out, _ = run(capsys, path, "--no-assets")
    assert code == 1
    assert out.startswith(
        f"{path}:3:17: error: sound 'ofice' is not defined; did you mean 'office'? [SC201]\n"
        "  3 |   room: {sound: ofice}\n"
        "    |                 ^~~~~\n"
    )


def test_clean_scene_exits_0(write_scene, capsys):
    path = write_scene("version: 1\nlayers: {room: {source: builtin:office-ambience}}\n")
    code, out, _ = run(capsys, path)
    assert (code, out) == (0, "1 file checked: no problems found.\n")


def test_yaml_syntax_error_gets_a_caret_too(write_scene, capsys):
    path = write_scene(
        "version: 1\nlayers:\n  room: {source: builtin:office-ambience, gain: [1, }\n"
    )
    code, out, _ = run(capsys, path)
    assert code == 1
    assert out == (
        f"{path}:3:53: error: YAML syntax error: expected the node content, but found '}}' "
        "[SC001]\n"
        "  3 |   room: {source: builtin:office-ambience, gain: [1, }\n"
        "    | " + " " * 52 + "^\n"
        "  hint: check indentation and quoting near this position\n"
        "1 file checked: 1 error.\n"
    )


def test_missing_path_is_a_usage_error(tmp_path, capsys):
    code, out, err = run(capsys, tmp_path / "nope.yaml")
    assert (code, out) == (2, "")
    assert err == f"soundscape lint: error: '{tmp_path / 'nope.yaml'}' does not exist\n"


def test_no_paths_and_empty_folder_are_usage_errors(tmp_path, capsys):
    assert run(capsys)[0] == 2
    code, _, err = run(capsys, tmp_path)
    assert code == 2
    assert "no *.yaml or *.yml scene files" in err


def test_folders_are_searched_recursively(write_scene, tmp_path, capsys):
    write_scene(ERROR_SCENE, "a.yaml")
    write_scene(WARN_SCENE, "deep/er/b.yml")
    (tmp_path / "notes.txt").write_text("not a scene")
    code, out, _ = run(capsys, tmp_path, "--no-assets", "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["files"] == [str(tmp_path / "a.yaml"), str(tmp_path / "deep/er/b.yml")]
    assert data["summary"] == {"error": 1, "warning": 1, "info": 1}


def test_json_format(write_scene, capsys):
    path = write_scene(WARN_SCENE)
    code, out, _ = run(capsys, path, "--no-assets", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert data["diagnostics"][1] == {
        "file": str(path),
        "line": 6,
        "col": 31,
        "severity": "warning",
        "code": "SC205",
        "rule": "guard-field",
        "message": "event 'tool.started' has no field 'name', so this transition never fires",
        "hint": "event 'tool.started' carries: tool, call_id",
    }


def test_github_format(write_scene, capsys, monkeypatch):
    monkeypatch.chdir(write_scene(ERROR_SCENE).parent)
    code, out, _ = run(capsys, "scene.yaml", "--no-assets", "--format", "github")
    assert code == 1
    assert out == (
        "::error file=scene.yaml,line=3,col=17,title=SC201::sound 'ofice' is not defined; "
        "did you mean 'office'?%0Ahint: define it under `sounds:`, or use `source:` to play "
        "a file directly\n"
    )


def test_github_notice_for_info_and_escaping(write_scene, capsys, monkeypatch):
    path = write_scene(
        "version: 1\nsounds: {spare: builtin:hold-music}\nlayers: {bed: spare.wav}\n", "a,b:c.yaml"
    )
    monkeypatch.chdir(path.parent)
    _, out, _ = run(capsys, "a,b:c.yaml", "--no-assets", "--format", "github")
    assert out.startswith("::notice file=a%2Cb%3Ac.yaml,line=2,col=10,title=SC503::")


def test_sarif_format_has_the_2_1_0_shape_and_rule_metadata(write_scene, capsys, monkeypatch):
    monkeypatch.chdir(write_scene(WARN_SCENE).parent)
    code, out, _ = run(capsys, "scene.yaml", "--no-assets", "--format", "sarif")
    log = json.loads(out)
    assert code == 0
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "soundscape"
    assert [r["id"] for r in driver["rules"]] == [r.code for r in ALL_RULES]
    for meta, rule in zip(driver["rules"], ALL_RULES, strict=True):
        assert meta["name"] == rule.name
        assert meta["shortDescription"]["text"] == rule.summary
        level = {"error": "error", "warning": "warning", "info": "note"}[rule.severity]
        assert meta["defaultConfiguration"]["level"] == level
    info, warning = run_["results"]
    assert (info["ruleId"], info["level"]) == ("SC503", "note")
    assert (warning["ruleId"], warning["level"]) == ("SC205", "warning")
    assert driver["rules"][warning["ruleIndex"]]["id"] == "SC205"
    loc = warning["locations"][0]["physicalLocation"]
    assert loc == {
        "artifactLocation": {"uri": "scene.yaml"},
        "region": {"startLine": 6, "startColumn": 31},
    }
    assert warning["message"]["text"].startswith("event 'tool.started' has no field 'name'")


def test_list_rules_prints_code_name_severity_summary(capsys):
    code, out, _ = run(capsys, "--list-rules")
    lines = out.splitlines()
    assert code == 0
    assert len(lines) == len(ALL_RULES)
    for line, rule in zip(lines, ALL_RULES, strict=True):
        assert line.split()[:3] == [rule.code, rule.name, rule.severity]
        assert line.endswith(rule.summary)


def test_list_builtins(capsys):
    code, out, _ = run(capsys, "--list-builtins")
    assert code == 0
    assert "builtin:office-ambience" in out.splitlines()
    assert "builtin:hold-music" in out.splitlines()


def test_disable_by_code_or_name_and_unknown_rule(write_scene, capsys):
    path = write_scene(WARN_SCENE)
    _, out, _ = run(capsys, path, "--no-assets", "--disable", "SC503", "--disable", "guard-field")
    assert out == "1 file checked: no problems found.\n"
    _, out, _ = run(capsys, path, "--no-assets", "--disable", "sc503,SC205")
    assert out == "1 file checked: no problems found.\n"
    code, _, err = run(capsys, path, "--disable", "SC9999")
    assert code == 2
    assert "unknown rule 'SC9999'" in err
    code, _, err = run(capsys, path, "--disable", "unused-sounds")
    assert "did you mean 'unused-sound'?" in err


def test_set_changes_a_rules_threshold(write_scene, capsys):
    # The README's bed as BackgroundAudioPlayer plays it: about 46 LU under the voice.
    path = write_scene(
        "version: 1\nlayers: {room: {source: builtin:office-ambience, level: file, gain: 0.3}}\n"
    )
    code, out, _ = run(capsys, path, "--strict")
    assert code == 1 and "[SC701]" in out and "a caller will not hear it" in out
    code, out, _ = run(capsys, path, "--strict", "--set", "bed-inaudible.max-lu=50")
    assert (code, out) == (0, "1 file checked: no problems found.\n")
    code, out, _ = run(capsys, path, "--strict", "--set", "SC701.max-lu=50")
    assert code == 0
    for bad, says in [
        ("bed-inaudible=50", "--set takes RULE.OPTION=VALUE"),
        ("bed-inaudable.max-lu=50", "did you mean 'bed-inaudible'?"),
        ("bed-inaudible.max=50", "has no option 'max' (its options: max-lu)"),
        ("bed-inaudible.max-lu=loud", "expected a number, got 'loud'"),
    ]:
        code, _, err = run(capsys, path, "--set", bad)
        assert code == 2 and says in err, err


def test_no_assets_skips_missing_files(write_scene, capsys):
    path = write_scene("version: 1\nlayers: {room: gone.wav}\n")
    code, out, _ = run(capsys, path)
    assert code == 1 and "[SC401]" in out
    assert run(capsys, path, "--no-assets")[0] == 0


def test_colors_only_when_asked_or_on_a_terminal(write_scene, capsys, monkeypatch):
    path = write_scene(ERROR_SCENE)
    _, out, _ = run(capsys, path, "--no-assets")
    assert "\x1b[" not in out  # captured output is not a terminal
    _, out, _ = run(capsys, path, "--no-assets", "--color", "always")
    assert "\x1b[1;31merror\x1b[0m" in out
    monkeypatch.setenv("NO_COLOR", "1")
    from soundscape.cli import lint as cli_lint

    class Tty:
        def isatty(self) -> bool:
            return True

    assert cli_lint._color("auto", Tty()) is False  # type: ignore[arg-type]
    monkeypatch.delenv("NO_COLOR")
    assert cli_lint._color("auto", Tty()) is True  # type: ignore[arg-type]


def test_linting_does_not_import_livekit_agents(write_scene):
    path = write_scene(WARN_SCENE)
    code = (
        "import sys\n"
        "from soundscape.cli.main import main\n"
        f"rc = main(['lint', '--no-assets', {str(path)!r}])\n"
        "assert 'livekit.agents' not in sys.modules, 'livekit.agents imported'\n"
        "sys.exit(rc)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "[SC205]" in res.stdout


def test_control_characters_in_a_scene_cannot_reach_the_terminal(write_scene, capsys):
    path = write_scene(
        'version: 1\nstates: {idle: {}}\ntransitions:\n  - {on: "agent.\\e[2Jx", to: idle}\n'
    )
    code, out, _ = run(capsys, path, "--color", "never")
    assert code == 1
    assert "\x1b" not in out
    assert "unknown event 'agent.\\x1b[2Jx'" in out
    assert '  4 |   - {on: "agent.\\e[2Jx", to: idle}\n' in out  # the YAML escape as written


def test_odd_sources_are_reported_not_raised(write_scene, capsys):
    path = write_scene(
        'version: 1\nlayers:\n  a: "bad\\0name.wav"\n  b: /dev/null\n  c: {source: /}\n'
    )
    code, out, _ = run(capsys, path, "--format", "json")
    diags = json.loads(out)["diagnostics"]
    assert code == 1
    assert [(d["line"], d["col"], d["code"]) for d in diags] == [
        (3, 6, "SC402"),
        (4, 6, "SC402"),
        (5, 15, "SC402"),
    ]
    assert diags[0]["message"].startswith("audio file 'bad\\x00name.wav' cannot be used")
    assert diags[1]["message"] == "audio file '/dev/null' cannot be used: not a regular file"


def test_list_rules_as_json(capsys):
    code, out, _ = run(capsys, "--list-rules", "--format", "json")
    rows = json.loads(out)
    assert code == 0
    assert rows[0] == {
        "code": ALL_RULES[0].code,
        "name": ALL_RULES[0].name,
        "severity": ALL_RULES[0].severity,
        "summary": ALL_RULES[0].summary,
    }
    assert {r["code"] for r in rows} >= {"SC205", "SC301", "SC303", "SC405", "SC501", "SC503"}


def test_hidden_folders_are_skipped_and_files_linted_once(write_scene, tmp_path, capsys):
    scene = write_scene(WARN_SCENE, "a.yaml")
    write_scene(ERROR_SCENE, ".venv/pkg/broken.yaml")
    code, out, _ = run(capsys, tmp_path, scene, "--no-assets", "--format", "json")
    assert code == 0
    assert json.loads(out)["files"] == [str(scene)]


def test_many_files_are_linted_in_workers_with_the_same_report(tmp_path: Path):
    # 40 scenes (one broken) in nested folders: the parallel run must say exactly what one
    # process says, in the same order, with the same exit code.
    root = Path(__file__).resolve().parents[2]
    for i in range(8):
        shutil.copytree(root / "scenes", tmp_path / f"copy{i}")
    (tmp_path / "copy3" / "broken.yaml").write_text(ERROR_SCENE)

    def lint(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "soundscape.cli.main", "lint", *extra, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    one, many = lint("-j", "1"), lint("-j", "2")
    assert many.stdout == one.stdout and many.returncode == one.returncode == 1
    assert "broken.yaml:4:17: error" in many.stdout and "49 files checked" in many.stdout


# --- folders: only files that look like scenes --------------------------------------

LIVEKIT_YAML = """
port: 7880
rtc:
  tcp_port: 7881
  port_range_start: 50000
  port_range_end: 60000
keys:
  devkey: secret
logging:
  level: info
"""
COMPOSE_YAML = """
version: "3.8"
name: stack
include: [other.yml]
services:
  livekit:
    image: livekit/livekit-server
volumes: {data: {}}
"""


def test_a_folder_lints_its_scenes_and_skips_other_yaml(write_scene, tmp_path, capsys):
    scene = write_scene(WARN_SCENE, "scenes/front.yaml")
    write_scene(LIVEKIT_YAML, "livekit.yaml")
    write_scene(COMPOSE_YAML, "docker-compose.yml")
    write_scene(".github/x: 1\n", "ci/workflow.yml")
    code, out, _ = run(capsys, tmp_path, "--no-assets")
    assert code == 0
    assert out.count("[SC") == 2 and "SC101" not in out  # only the scene's own findings
    assert str(scene.relative_to(tmp_path)) in out or str(scene) in out
    assert out.splitlines()[-1] == (
        "1 file checked: 1 warning, 1 info (3 YAML files skipped: not scenes)."
    )
    _, out, _ = run(capsys, tmp_path, "--no-assets", "--format", "json")
    data = json.loads(out)
    assert data["files"] == [str(scene)]
    assert data["skipped"] == [
        str(tmp_path / "ci/workflow.yml"),
        str(tmp_path / "docker-compose.yml"),
        str(tmp_path / "livekit.yaml"),
    ]


def test_a_yaml_file_named_on_the_command_line_is_always_linted(write_scene, tmp_path, capsys):
    path = write_scene(LIVEKIT_YAML, "livekit.yaml")
    code, out, _ = run(capsys, path, "--no-assets")
    assert code == 1
    assert f"{path}:1:1: error: unknown key 'port' [SC101]" in out
    # --all-yaml does the same for every YAML file in a folder.
    code, out, _ = run(capsys, tmp_path, "--no-assets", "--all-yaml")
    assert code == 1 and "unknown key 'port' [SC101]" in out


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nextends: office.yaml\n",
        "# yaml-language-server: $schema=../docs/scene.schema.json\nlayer: {}\n",
        "\ufeff# a scene\nversion: 2\nsounds: {}\nlayer: {}\n",  # broken, but clearly a scene
        "'version': 1\n\"states\": {idle: {}}\n",
        "version: 1\nlayer:\n  room: builtin:office-ambience\n",  # a typo is still a scene
    ],
)
def test_what_looks_like_a_scene(text):
    from soundscape.lint.runner import looks_like_scene

    assert looks_like_scene(text)


@pytest.mark.parametrize(
    "text",
    [
        LIVEKIT_YAML,
        COMPOSE_YAML,
        "version: 1\n",  # nothing of a scene in it
        "version: 1\nformatters: {}\nhandlers: {}\nloggers: {}\nroot: {level: INFO}\n",
        "# yaml-language-server: $schema=https://json.schemastore.org/github-workflow.json\non: push\n",
        "jobs:\n  layers: 1\nversion: 2\n",  # `layers` is not at the top level
        "- version: 1\n- layers: {}\n",
    ],
)
def test_what_does_not_look_like_a_scene(text):
    from soundscape.lint.runner import looks_like_scene

    assert not looks_like_scene(text)


def test_a_folder_with_yaml_but_no_scenes_says_so(write_scene, tmp_path, capsys):
    write_scene(LIVEKIT_YAML, "livekit.yaml")
    code, _, err = run(capsys, tmp_path)
    assert code == 2
    assert err == (
        f"soundscape lint: error: no scene files in {tmp_path} (1 YAML file skipped: it does "
        "not look like a scene; name it on the command line or pass --all-yaml to lint it)\n"
    )
