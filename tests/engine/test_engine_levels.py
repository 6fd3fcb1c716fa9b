"""`level:` targets, heard: what the engine renders lands at the loudness the scene asks for.

Every built-in clip, as a looping bed and as a one-shot, at an absolute and at a
voice-relative target; files in several formats, channel counts and rates; pools whose
takes differ in level; `gain` as a trim; `levels: file`; the defaults; and the errors a
bad level gets. Loudness is measured on the output with BS.1770 (`integrated_loudness`).
"""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest

from soundscape.audio.analysis import integrated_loudness
from soundscape.audio.decode import decode_file
from soundscape.engine import Engine, compile_scene
from soundscape.errors import SceneError
from soundscape.scene import loads
from soundscape.scene.sources import builtin_catalog

R = 48000
TOL = 1.0  # LU: what the issue promises a sound designer
BUILTINS = sorted(builtin_catalog())
CROSSFADE = 0.5  # a layer's default loop seam
# (written, LUFS it means with `voice: -18 LUFS`)
TARGETS = [("-40 LUFS", -40.0), ("voice -20 LU", -38.0)]


def _engine(text: str, where: Path, channels: int = 1) -> Engine:
    return Engine(compile_scene(loads(text, str(where)), R, channels), seed=0)


def _bed_loudness(eng: Engine, sound: str, fade_in: float = 1.0, at_least: float = 3.0) -> float:
    """Loudness of a layer over a whole number of loop lengths, after its fade-in."""
    n = eng.plan.sound(sound).variants[0].samples.shape[0]
    loop = n - min(round(CROSSFADE * R), n // 2)
    skip = math.ceil(fade_in * R / loop)
    count = max(1, math.ceil(at_least * R / loop))
    out = eng.render((skip + count) * loop)
    return integrated_loudness(out[skip * loop :], R)


def _bed_scene(source: str, extra: str = "") -> str:
    return (
        f"version: 1\nvoice: -18 LUFS\nsounds:\n  s: {source}\n"
        f"layers:\n  bed: {{sound: s{extra}}}\n"
    )


def _cue_scene(source: str, extra: str = "") -> str:
    return (
        f"version: 1\nvoice: -18 LUFS\nsounds:\n  s: {source}\ntriggers:\n  go: Play it.\n"
        f"transitions:\n  - {{on: trigger.go, play: {{sound: s{extra}}}}}\n"
    )


def _one_shot_loudness(eng: Engine, sound: str, index: int = 0) -> float:
    n = eng.plan.sound(sound).variants[index].samples.shape[0]
    eng.post("trigger.go", at=0)
    return integrated_loudness(eng.render(n), R)


@pytest.mark.parametrize(("written", "lufs"), TARGETS, ids=["absolute", "voice-relative"])
@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_bed_lands_on_its_level(tmp_path: Path, name: str, written: str, lufs):
    eng = _engine(_bed_scene(f"builtin:{name}", f", level: {written}"), tmp_path / "s.yaml")
    assert _bed_loudness(eng, "s") == pytest.approx(lufs, abs=TOL)


@pytest.mark.parametrize(("written", "lufs"), TARGETS, ids=["absolute", "voice-relative"])
@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_one_shot_lands_on_its_level(tmp_path: Path, name: str, written, lufs):
    eng = _engine(_cue_scene(f"builtin:{name}", f", level: {written}"), tmp_path / "s.yaml")
    assert _one_shot_loudness(eng, "s") == pytest.approx(lufs, abs=TOL)


# --- files in several formats ----------------------------------------------------------


def _signal(seconds: float, rate: int, channels: int, amp: float = 0.05) -> np.ndarray:
    """Band-limited noise with a tone in it, different in each channel (float, frames × ch)."""
    rng = np.random.default_rng(7)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    chans = []
    for c in range(channels):
        noise = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")
        tone = np.sin(2 * np.pi * (330 + 110 * c) * t)
        chans.append(amp * (0.7 * noise + 0.5 * tone))
    return np.stack(chans, axis=1).astype(np.float32)


def _encode(path: Path, x: np.ndarray, rate: int, codec: str, fmt: str) -> Path:
    layout = {1: "mono", 2: "stereo"}[x.shape[1]]
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        step = stream.codec_context.frame_size or 1024
        for i in range(0, x.shape[0], step):
            chunk = np.ascontiguousarray(x[i : i + step].T, dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate = rate
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


FILES = [
    # (name, codec, container, channels, rate)
    ("mono.wav", "pcm_s16le", "wav", 1, R),
    ("stereo.wav", "pcm_s16le", "wav", 2, R),  # at a mono engine: downmixed, then levelled
    ("low-rate.wav", "pcm_s16le", "wav", 1, 22050),  # resampled to 48 kHz
    ("bed.flac", "flac", "flac", 2, 44100),
    ("bed.mp3", "libmp3lame", "mp3", 1, 44100),
    ("bed.ogg", "vorbis", "ogg", 2, R),
    ("bed.opus", "libopus", "ogg", 1, R),
]


@pytest.mark.parametrize(("written", "lufs"), TARGETS, ids=["absolute", "voice-relative"])
@pytest.mark.parametrize(("name", "codec", "fmt", "ch", "rate"), FILES, ids=[f[0] for f in FILES])
def test_files_of_every_format_land_on_their_level(
    tmp_path: Path, name: str, codec: str, fmt: str, ch: int, rate: int, written: str, lufs
):
    _encode(tmp_path / name, _signal(4.0, rate, ch), rate, codec, fmt)
    bed = _engine(_bed_scene(name, f", level: {written}"), tmp_path / "s.yaml")
    assert _bed_loudness(bed, "s") == pytest.approx(lufs, abs=TOL)
    cue = _engine(_cue_scene(name, f", level: {written}"), tmp_path / "s.yaml")
    assert _one_shot_loudness(cue, "s") == pytest.approx(lufs, abs=TOL)


def test_each_take_of_a_pool_plays_at_the_level(tmp_path: Path):
    """Two takes 20 dB apart: both land on the target, so the pool sounds even."""
    x = _signal(2.0, R, 1, amp=0.2)
    _encode(tmp_path / "loud.wav", x, R, "pcm_s16le", "wav")
    _encode(tmp_path / "quiet.wav", x / 10, R, "pcm_s16le", "wav")
    text = (
        "version: 1\nsounds:\n  s:\n    variants: [loud.wav, quiet.wav]\n    pick: sequence\n"
        "triggers:\n  go: Play it.\n"
        "transitions:\n  - {on: trigger.go, play: {sound: s, level: -40 LUFS}}\n"
    )
    eng = _engine(text, tmp_path / "s.yaml")
    n = eng.plan.sound("s").variants[0].samples.shape[0]
    eng.post("trigger.go", at=0)
    eng.post("trigger.go", at=2 * n)
    out = eng.render(3 * n)
    # The takes as files: 20 LU apart.
    files = [
        integrated_loudness(decode_file(tmp_path / f, R, 1), R) for f in ("loud.wav", "quiet.wav")
    ]
    assert files[0] - files[1] == pytest.approx(20.0, abs=0.2)
    assert integrated_loudness(out[:n], R) == pytest.approx(-40.0, abs=TOL)
    assert integrated_loudness(out[2 * n : 3 * n], R) == pytest.approx(-40.0, abs=TOL)


def test_gain_trims_below_the_level(tmp_path: Path):
    _encode(tmp_path / "bed.wav", _signal(4.0, R, 1), R, "pcm_s16le", "wav")
    at = _engine(_bed_scene("bed.wav", ", level: -40 LUFS"), tmp_path / "s.yaml")
    trimmed = _engine(_bed_scene("bed.wav", ", level: -40 LUFS, gain: -6 dB"), tmp_path / "s.yaml")
    level, low = _bed_loudness(at, "s"), _bed_loudness(trimmed, "s")
    assert low == pytest.approx(-46.0, abs=TOL)
    assert level - low == pytest.approx(6.0, abs=0.1)


def test_levels_file_plays_the_clip_as_it_is(tmp_path: Path):
    """`levels: file` (what from_background_audio writes): no normalisation at all."""
    _encode(tmp_path / "bed.wav", _signal(4.0, R, 1, amp=0.02), R, "pcm_s16le", "wav")
    own = integrated_loudness(decode_file(tmp_path / "bed.wav", R, 1), R)
    assert own < -40.0  # far from any default, so normalising would show
    bed = _engine(_bed_scene("bed.wav") + "levels: file\n", tmp_path / "s.yaml")
    assert _bed_loudness(bed, "s") == pytest.approx(own, abs=TOL)
    cue = _engine(_cue_scene("bed.wav") + "levels: file\n", tmp_path / "s.yaml")
    assert _one_shot_loudness(cue, "s") == pytest.approx(own, abs=0.2)


def test_a_scene_without_levels_or_gains_is_balanced(tmp_path: Path):
    """No level, no gain: beds 25 LU and cues 15 LU under the default -20 LUFS voice."""
    text = (
        "version: 1\nsounds:\n  bed: builtin:office-ambience\n  ding: builtin:chime\n"
        "layers:\n  bed: {sound: bed}\ntriggers:\n  go: Play it.\n"
        "transitions:\n  - {on: trigger.go, play: ding}\n"
    )
    assert _bed_loudness(_engine(text, tmp_path / "s.yaml"), "bed") == pytest.approx(-45, abs=TOL)
    only_cue = _engine(text.replace("layers:\n  bed: {sound: bed}\n", ""), tmp_path / "s.yaml")
    assert _one_shot_loudness(only_cue, "ding") == pytest.approx(-35.0, abs=TOL)


# --- bad levels: a clear error at the line -----------------------------------------------


@pytest.mark.parametrize(
    ("level", "says"),
    [
        ("-24 LU", ["voice -24 LU", "LUFS"]),  # LU under what? both spellings suggested
        ("-45 dB", ["gain: -45 dB", "trim"]),  # a gain where a loudness belongs
        ("-90 LUFS", ["outside -70 to 0 LUFS"]),
        ("voice -70 LU", ["outside voice -50 LU"]),
    ],
)
def test_a_bad_level_is_an_error_at_its_line(tmp_path: Path, level: str, says: list[str]):
    where = str(tmp_path / "bad.yaml")
    text = f"version: 1\nlayers:\n  bed: {{source: builtin:room-tone, level: {level}}}\n"
    with pytest.raises(SceneError) as ei:
        loads(text, where)
    (d,) = ei.value.diagnostics
    assert (d.pos.file, d.pos.line) == (where, 3)
    for fragment in says:
        assert fragment in d.message
    assert f"{where}:3:" in str(ei.value)
