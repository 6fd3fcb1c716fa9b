"""`soundscape demo` runs the scripted call on a real local LiveKit server and writes what the
caller heard: the agent's voice over the scene's bed, states and latencies in the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from soundscape.audio import load_clip
from soundscape.audio.analysis import integrated_loudness
from soundscape.cli.demo import default_scene
from soundscape.demo.livekit_local import LocalServer
from soundscape.scene import load
from soundscape.scene.sources import resolve

RATE = 48000


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768


def dbfs(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12))


def best_match(probe: np.ndarray, clip: np.ndarray) -> float:
    """Normalised correlation of ``probe`` with the best-fitting stretch of ``clip``."""
    n = len(probe)
    probe = probe - probe.mean()
    size = 1 << int(np.ceil(np.log2(len(clip) + n)))
    corr = np.fft.irfft(np.fft.rfft(clip, size) * np.conj(np.fft.rfft(probe, size)), size)
    corr = corr[: len(clip) - n + 1]
    k = int(np.argmax(corr))
    return float(corr[k] / np.sqrt(np.dot(probe, probe) * np.dot(clip[k : k + n], clip[k : k + n])))


def spans(states: list[dict[str, object]], name: str, end: float) -> list[tuple[float, float]]:
    out = []
    for i, s in enumerate(states):
        if s["state"] == name:
            nxt = float(states[i + 1]["at"]) if i + 1 < len(states) else end  # type: ignore[arg-type]
            out.append((float(s["at"]), nxt))  # type: ignore[arg-type]
    return out


def test_demo_records_the_agents_voice_over_the_scene_bed(
    livekit_server: LocalServer, tmp_path: Path
) -> None:
    # No LIVEKIT_* configuration: the demo starts its own server (the fixture only proves
    # that one can be had here, so a fallback to offline would be a failure).
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["LIVEKIT_SERVER_BIN"] = str(livekit_server.binary)
    wav, png = tmp_path / "demo.wav", tmp_path / "demo.png"
    proc = subprocess.run(
        [sys.executable, "-m", "soundscape", "demo", "-o", str(wav), "--plot", str(png), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["mode"] == "live"
    assert png.stat().st_size > 10_000

    # Every state of the script was visited, in a plausible order.
    states = [s["state"] for s in summary["states"]]
    assert {"listening", "thinking", "speaking"} <= set(states)
    assert states.index("speaking") < states.index("thinking")  # the greeting comes first
    assert summary["cues_played"].get("builtin:keyboard-typing", 0) >= 1
    assert summary["cues_played"].get("builtin:hold-music") == 1
    assert summary["latency"] and all(lat["total_ms"] is not None for lat in summary["latency"])

    audio = read_wav(wav)
    end = len(audio) / RATE
    speaking = spans(summary["states"], "speaking", end)
    assert len(speaking) == 4  # greeting, answer, transfer, goodbye
    # The agent's voice: each turn is far louder than the bed alone before the greeting
    # (from the scene's first state change, its track has started, to the greeting). The bed
    # plays 25 LU under the -20 LUFS voice; a turn's span starts and ends in the bed and
    # counts its pauses (gated), so 15 LU is the margin here (the exact distance: below).
    first = float(summary["states"][1]["at"])
    before = audio[int((first + 0.2) * RATE) : int((speaking[0][0] - 0.1) * RATE)]
    assert len(before) > 0.8 * RATE
    for a, b in speaking:
        voice = audio[int(a * RATE) : int(b * RATE)]
        heard = integrated_loudness(voice, RATE) - integrated_loudness(before, RATE)
        assert heard > 15, f"no agent voice in {a:.1f}-{b:.1f} s ({heard:.1f} LU over the bed)"
    # The scene's bed is what plays before anyone speaks: the office ambience clip (very
    # quiet, and through Opus) matches it far better than other ambiences do. Matched in
    # 250 ms pieces, each at its own place in the clip: the receiver's jitter buffer may
    # stretch or drop a few ms on a loaded machine, and one alignment over the whole second
    # would then match only the part before that (the median piece speaks for the whole).
    assert dbfs(before) > -90
    piece = RATE // 4
    probes = [before[i : i + piece] for i in range(0, len(before) - piece + 1, piece)]

    def match(name: str) -> float:
        clip = np.asarray(
            load_clip(resolve(f"builtin:{name}", Path.cwd()), RATE, 1).samples[:, 0], np.float32
        )
        return float(np.median([best_match(p, clip) for p in probes]))

    office = match("office-ambience")
    others = max(match(n) for n in ("crowded-room", "city-ambience", "room-tone", "pink-noise"))
    assert office > 2 * others, (office, others)

    # Levels as a caller hears them, through the SFU and Opus: the bed (alone before the
    # greeting and while the caller speaks) sits under the voice by the distance the scene's
    # level promises (the demo's voice speaks at the scene's voice reference).
    scene = load(default_scene())
    layer = next(iter(scene.layers.values()))
    promised = scene.voice.reference - scene.levels.of(layer).lufs(scene.voice.reference)
    # The bed alone: before the greeting, and while the caller asks (a listening state the
    # agent leaves for thinking; later ones hold the hold music). The agent's voice reaches
    # the caller a little before its `speaking` state does, hence the margins.
    sts = summary["states"]
    asks = [
        (float(s["at"]) + 0.3, float(sts[i + 1]["at"]) - 0.4)
        for i, s in enumerate(sts[:-1])
        if s["state"] == "listening" and sts[i + 1]["state"] == "thinking"
    ]
    assert len(asks) == 2
    bed_parts = [before[: max(0, len(before) - int(0.3 * RATE))]]
    bed_parts += [audio[int(a * RATE) : int(b * RATE)] for a, b in asks]
    bed_lufs = integrated_loudness(np.concatenate(bed_parts)[:, None], RATE)
    voice_lufs = integrated_loudness(
        np.concatenate([audio[int(a * RATE) : int(b * RATE)] for a, b in speaking])[:, None], RATE
    )
    assert voice_lufs == pytest.approx(scene.voice.reference, abs=2.0)
    # The summary says where the bed sits, and the caller heard it there.
    bed = next(lv for lv in summary["levels"] if lv["kind"] == "layer")
    assert bed["voice_lu"] == pytest.approx(-promised, abs=0.1)
    # ±4 LU: these ~3 s are a window of the office ambience, whose own 3-s loudness ranges
    # from 4 LU under to 2 LU over the loudness of its whole loop (what `level` sets).
    assert voice_lufs - bed_lufs == pytest.approx(promised, abs=4.0), (voice_lufs, bed_lufs)


def test_without_a_server_the_demo_says_so_and_renders_the_same_call_offline(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEKIT_")}
    env["LIVEKIT_SERVER_BIN"] = str(tmp_path / "no-such-livekit-server")
    wav = tmp_path / "demo.wav"
    proc = subprocess.run(
        [sys.executable, "-m", "soundscape", "demo", "-o", str(wav), "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "no LiveKit server" in proc.stderr and "scripts/livekit-server" in proc.stderr
    assert "rendering the same call offline" in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["mode"] == "offline"
    assert [s["state"] for s in summary["states"]][:4] == ["idle", "listening", "speaking",
                                                            "listening"]  # fmt: skip
    assert summary["cues_played"].get("hold-music") == 1
    levels = {(x["kind"], x["name"], x["where"]): x for x in summary["levels"]}
    bed_level = levels["layer", "ambience", None]
    assert bed_level["voice_lu"] == pytest.approx(
        bed_level["lufs"] - summary["voice_ref_lufs"], abs=0.11
    )
    audio = read_wav(wav)
    speaking = spans(summary["states"], "speaking", len(audio) / RATE)
    assert len(speaking) == 4
    bed = audio[int(0.2 * RATE) : int(speaking[0][0] * RATE)]
    for a, b in speaking:
        turn = audio[int(a * RATE) : int(b * RATE)]
        assert integrated_loudness(turn, RATE) > integrated_loudness(bed, RATE) + 15


def test_the_default_scene_is_the_office_scene() -> None:
    from soundscape.cli.demo import default_scene

    assert (
        default_scene().read_text()
        == (Path(__file__).resolve().parents[2] / "scenes" / "office.yaml").read_text()
    )


def test_demo_levels_read_as_the_render_prints_them() -> None:
    from soundscape.cli.demo import level_line

    room = {"kind": "layer", "name": "room", "where": None, "lufs": -45.0, "voice_lu": -25.0}
    assert level_line(room) == "layer room: -45.0 LUFS (voice -25.0 LU)"
    tick = {"kind": "cue", "name": "tick", "where": "thinking", "lufs": None, "voice_lu": None}
    assert level_line(tick) == "cue tick in thinking: silent"
