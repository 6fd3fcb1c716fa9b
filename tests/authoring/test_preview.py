"""`soundscape preview` end to end: a real headless Chromium listens to the page.

The test scene gives every sound its own sine tone (bed 220 Hz, thinking 1 kHz, hold
2.5 kHz), so what the page plays — read from its AnalyserNode, i.e. after Web Audio —
says which sounds are on. Chromium is driven over the DevTools protocol (aiohttp's
WebSocket client, already installed with livekit-agents).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from soundscape.audio.wav import write_wav
from soundscape.authoring.graph import scene_graph
from soundscape.authoring.preview import LiveScene, PreviewServer
from soundscape.authoring.preview.diagram import diagram_svg
from soundscape.scene import load

RATE = 48000
BED_HZ, THINK_HZ, HOLD_HZ = 220.0, 1000.0, 2500.0
TONES = {"bed": BED_HZ, "think": THINK_HZ, "hold": HOLD_HZ}
BED = (-24.5, -21.5)  # a -14 dBFS-peak sine at -6 dB: -23 dBFS RMS
CUE = (-16.5, -13.5)  # a -12 dBFS-peak sine: -15 dBFS RMS
OFF = (-200.0, -60.0)
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
WAIT = 30.0
"""Longest wait for the page to reach an expected state (a generous bound, not a measure)."""


def tone(path: Path, freq: float, db: float) -> None:
    t = np.arange(RATE) / RATE  # 1 s: a whole number of cycles, so loops are seamless
    write_wav(path, (10 ** (db / 20) * np.sin(2 * np.pi * freq * t))[:, None], RATE)


# The tones play as written (`levels: file`): the page's meters are checked in dBFS.
SCENE = """\
version: 1
name: tones
levels: file
layers:
  bed: {source: bed.wav, gain: -6 dB}
states:
  idle:
  listening:
  thinking:
    cues:
      - {source: think.wav, loop: true, fade_in: 10ms}
  speaking:
"""

EDITED = (
    SCENE
    + """\
  on-hold:
    cues:
      - {source: hold.wav, loop: true}
triggers:
  hold: put the caller on hold
  resume: back from hold
transitions:
  - {on: trigger.hold, to: on-hold}
  - {on: trigger.resume, from: on-hold, to: idle}
"""
)


@pytest.fixture
def scene_dir(tmp_path: Path) -> Path:
    tone(tmp_path / "bed.wav", BED_HZ, -14)
    tone(tmp_path / "think.wav", THINK_HZ, -12)
    tone(tmp_path / "hold.wav", HOLD_HZ, -12)
    (tmp_path / "tones.yaml").write_text(SCENE, encoding="utf-8")
    return tmp_path


def level_db(x: np.ndarray, freq: float, rate: int = RATE) -> float:
    """The level of a sine at ``freq`` in ``x`` (dBFS RMS), from a windowed spectrum."""
    x = np.asarray(x, np.float64)
    w = np.hanning(x.shape[0])
    spec = np.abs(np.fft.rfft(x * w)) / (w.sum() / 2)
    f = np.fft.rfftfreq(x.shape[0], 1 / rate)
    band = (f > freq * 0.97) & (f < freq * 1.03)
    amp = float(np.sqrt(np.sum(spec[band] ** 2) / 1.5))  # Hann's power spread: 1.5 bins
    return 20 * np.log10(amp / np.sqrt(2) + 1e-12)


# --- without a browser ---------------------------------------------------------------------


def test_meters_show_each_layers_real_level(scene_dir):
    live = LiveScene(scene_dir / "tones.yaml", channels=1)
    for _ in range(100):  # 2 s: past the 1 s fade-in
        live.render(960)
    # A -14 dBFS-peak sine (-17 dBFS RMS) at -6 dB.
    assert live.meters["bed"] == pytest.approx(-23.0, abs=0.2)
    live.post("agent.thinking")
    out = np.concatenate([live.render(960) for _ in range(50)])[:, 0]
    assert live.status()["state"] == "thinking"
    assert level_db(out[-RATE // 2 :], THINK_HZ) == pytest.approx(-15.0, abs=0.5)
    assert live.meters["bed"] == pytest.approx(-23.0, abs=0.2)  # the cue is not in the bed


def test_invalid_edit_keeps_the_old_scene_and_reports_where(scene_dir):
    path = scene_dir / "tones.yaml"
    live = LiveScene(path, channels=1)
    live.render(RATE)
    path.write_text(SCENE.replace("think.wav", "missing.wav"), encoding="utf-8")
    assert live.reload() is False
    assert live.diagnostics[0].startswith(f"{path}: cannot load audio:")
    assert "missing.wav" in live.diagnostics[0]
    path.write_text(SCENE + "  oops: {cues: [nothing]}\n", encoding="utf-8")
    assert live.reload() is False
    assert live.diagnostics == [f"{path}:13:17: error: sound 'nothing' is not defined [SC201]\n"
                                "  hint: define it under `sounds:`, or use `source:` to play a "
                                "file directly"]  # fmt: skip
    assert live.ui()["buttons"] and level_db(live.render(RATE)[:, 0], BED_HZ) > -30
    path.write_text(EDITED, encoding="utf-8")
    assert live.reload() is True and live.diagnostics == []
    assert "trigger.hold" in {b["event"] for b in live.ui()["buttons"]}


def test_a_file_invalid_from_the_start_plays_silence_until_fixed(scene_dir):
    path = scene_dir / "tones.yaml"
    path.write_text("version: 2\n", encoding="utf-8")
    live = LiveScene(path, channels=1)
    assert live.loaded is None and live.status()["state"] is None
    assert live.diagnostics[0].startswith(f"{path}:1:10: error:")
    assert not live.render(960).any()
    assert live.ui()["buttons"] == []
    path.write_text(SCENE, encoding="utf-8")
    assert live.reload() and live.status()["state"] == "idle"
    assert level_db(np.concatenate([live.render(960) for _ in range(100)])[-RATE:, 0], BED_HZ) \
        == pytest.approx(-23.0, abs=0.3)  # fmt: skip


def test_reload_crossfades_instead_of_clicking(scene_dir):
    path = scene_dir / "tones.yaml"
    live = LiveScene(path, channels=1)
    live.render(2 * RATE)
    path.write_text(SCENE.replace("gain: -6 dB", "gain: -26 dB"), encoding="utf-8")
    assert live.reload()
    out = live.render(RATE // 2)[:, 0]
    # The new engine starts with its 1 s fade-in while the old one fades over 80 ms:
    # the level falls smoothly, never jumping between neighbouring samples.
    assert np.abs(np.diff(out)).max() < 0.02  # a 220 Hz sine at -20 dBFS steps ≤ 0.0029


def test_editing_an_included_file_reloads_the_preview(scene_dir):
    (scene_dir / "extra.yaml").write_text("version: 1\ntriggers:\n  ring: a phone\n", "utf-8")
    path = scene_dir / "tones.yaml"
    path.write_text(SCENE + "include: extra.yaml\n", encoding="utf-8")
    with PreviewServer(path, port=0) as server:
        live = server.live
        assert "trigger.ring" in {b["event"] for b in live.ui()["buttons"]}
        version = live.version
        time.sleep(0.05)  # a new mtime even on coarse-grained file systems
        (scene_dir / "extra.yaml").write_text(
            "version: 1\ntriggers:\n  ring: a phone\n  knock: a door\n", "utf-8"
        )
        deadline = time.monotonic() + WAIT
        while live.version == version and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "trigger.knock" in {b["event"] for b in live.ui()["buttons"]}
        # Reloaded once, not again for having found the same files to watch.
        time.sleep(1.0)
        assert live.version == version + 1


def test_diagram_svg_has_every_state_and_move(scene_dir):
    (scene_dir / "tones.yaml").write_text(EDITED, encoding="utf-8")
    svg = diagram_svg(scene_graph(load(scene_dir / "tones.yaml")))
    for s in ("idle", "listening", "thinking", "speaking", "on-hold"):
        assert f'data-state="{s}"' in svg
    # trigger.hold leaves every state for on-hold: one caption, not four arrows.
    assert "from any state: trigger.hold → on-hold" in svg
    assert 'data-to="on-hold"' not in svg
    assert 'data-from="on-hold" data-to="idle"' in svg and ">trigger.resume<" in svg
    assert "▶ think.wav (loop)" in svg and "follow_agent: agent.idle → idle" in svg


# --- in Chromium ------------------------------------------------------------------------------


def _browser() -> str:
    for name in BROWSERS:
        exe = shutil.which(name)
        if exe:
            return exe
    pytest.skip(
        "Chromium is not installed, so the end-to-end preview test cannot run: "
        "apt-get install -y --no-install-recommends chromium"
    )


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[str]:
    """A headless Chromium; yields the DevTools HTTP endpoint."""
    exe = _browser()
    profile = tmp_path / "profile"
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required", "--remote-debugging-port=0",
        f"--user-data-dir={profile}", "about:blank",
    ]  # fmt: skip
    # Chromium (and dconf under it) keep crash reports and settings under $HOME otherwise.
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    proc = subprocess.Popen(
        [exe, *flags], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + WAIT
        while not port_file.is_file() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (exit {proc.poll()})")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port_file.read_text().split()[0]}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Page:
    """A tiny DevTools-protocol client for one tab."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive()).data)
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(msg["error"])
                return msg["result"]

    async def js(self, expr: str) -> Any:
        r = await self.send("Runtime.evaluate", expression=expr, returnByValue=True,
                            awaitPromise=True)  # fmt: skip
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"])
        return r["result"].get("value")

    async def until(self, expr: str, what: str) -> Any:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            # A DOM node does not travel by value: report it as true.
            value = await self.js(f"((v) => v instanceof Node ? true : v)({expr})")
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"the page never showed {what} ({expr})")

    async def hears(self, **expected: tuple[float, float]) -> dict[str, float]:
        """Wait until the AnalyserNode's last 0.68 s holds each tone in its dB range.

        ``expected``: tone name → (low, high) dBFS, e.g. ``think=(-16.5, -13.5)``. Changes
        reach the speakers after the server's lead, the page's jitter buffer and fades, so
        this polls; it fails with the last levels seen.
        """
        deadline = time.monotonic() + WAIT
        while True:
            x = np.array(await self.js("soundscape.played()"), np.float64)
            got = {name: level_db(x, TONES[name]) for name in expected}
            if all(lo <= got[n] <= hi for n, (lo, hi) in expected.items()):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"the page played {got}, expected {expected}")
            await asyncio.sleep(0.2)


@pytest.fixture
async def page(chromium: str) -> AsyncIterator[Page]:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{chromium}/json/list") as r:
            targets = await r.json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with http.ws_connect(url, max_msg_size=0) as ws:
            yield Page(ws)


async def test_page_plays_the_scene_follows_buttons_and_reloads(scene_dir, page):
    path = scene_dir / "tones.yaml"
    with PreviewServer(path, port=0) as server:
        await page.send("Page.navigate", url=server.url)
        await page.until("document.querySelector('button[data-event=\"agent.thinking\"]')",
                         "the event buttons")  # fmt: skip
        groups = await page.js("[...document.querySelectorAll('#buttons .group b')]"
                               ".map(b => b.textContent)")  # fmt: skip
        assert groups == ["agent", "user", "tool", "speech", "session"]
        assert await page.js("document.querySelectorAll('#diagram .state').length") == 4
        await page.js("document.getElementById('listen').click()")
        await page.until("soundscape.audio.ctx && soundscape.audio.ctx.state === 'running'",
                         "a running AudioContext")  # fmt: skip

        await page.hears(bed=BED, think=OFF, hold=OFF)
        assert await page.js("document.getElementById('state').textContent") == "idle"
        db = await page.until("document.querySelector('.meter[data-layer=bed]').dataset.db",
                              "the bed's meter")  # fmt: skip
        assert float(db) == pytest.approx(-23.0, abs=0.5)

        # Clicking "thinking" makes the page's audio contain the thinking cue.
        await page.js("document.querySelector('button[data-event=\"agent.thinking\"]').click()")
        await page.until("document.getElementById('state').textContent === 'thinking'",
                         "state 'thinking'")  # fmt: skip
        assert await page.js("document.querySelector('#diagram .state.current').dataset.state") \
            == "thinking"  # fmt: skip
        await page.hears(think=CUE, bed=BED, hold=OFF)
        await page.js("document.querySelector('button[data-event=\"agent.speaking\"]').click()")
        await page.hears(think=OFF, bed=BED)

        # Editing the file updates the page: a new state, trigger, button, and its sound.
        path.write_text(EDITED, encoding="utf-8")
        await page.until("document.querySelector('button[data-event=\"trigger.hold\"]')",
                         "the new trigger's button")  # fmt: skip
        assert await page.js("document.querySelectorAll('#diagram .state').length") == 5
        await page.js("document.querySelector('button[data-event=\"trigger.hold\"]').click()")
        await page.until("document.getElementById('state').textContent === 'on-hold'",
                         "state 'on-hold'")  # fmt: skip
        await page.hears(hold=CUE, bed=BED, think=OFF)

        # An invalid edit keeps the scene playing and shows where the problem is.
        path.write_text(EDITED.replace("hold.wav", "hold.wav, gain: loud"), encoding="utf-8")
        shown = await page.until(
            "document.getElementById('diagnostics').textContent.includes('gain') &&"
            " document.getElementById('diagnostics').textContent",
            "the diagnostics",
        )
        assert shown == (
            "The file has errors; still playing the last good version.\n\n"
            f"{path}:15:34: error: states.on-hold.cues[0].gain: expected a level like '-18 dB'"
            " or a linear factor like 0.3, got 'loud' [SC102]"
        )
        frames = await page.js("soundscape.audio.frames")
        await page.until(f"soundscape.audio.frames > {frames + RATE}", "more audio arriving")
        await page.hears(hold=CUE, bed=BED)
        assert await page.js("document.getElementById('state').textContent") == "on-hold"


def test_cli_serves_on_localhost(scene_dir):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("soundscape")), "preview",
         str(scene_dir / "tones.yaml"), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"previewing {scene_dir / 'tones.yaml'} at http://127.0.0.1:")
        url = line.split(" at ")[1].split()[0]
        ui = json.loads(urllib.request.urlopen(url + "ui").read())
        assert ui["title"] == "tones" and ui["layers"] == ["bed"]
        req = urllib.request.Request(url + "event", data=b'{"event": 3}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 400
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_missing_file(tmp_path, capsys):
    from soundscape.cli.main import main

    assert main(["preview", str(tmp_path / "nope.yaml")]) == 2
    assert (
        capsys.readouterr().err == f"soundscape preview: {tmp_path / 'nope.yaml'}: no such file\n"
    )


def test_page_is_self_contained():
    page = (
        Path(__file__).resolve().parents[2] / "soundscape/authoring/preview/static/index.html"
    ).read_text()
    assert "http://" not in page and "https://" not in page  # the network is closed: no CDN
    assert page.count("<script") == 1
