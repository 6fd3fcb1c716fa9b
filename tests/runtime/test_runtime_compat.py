"""from_background_audio() and BackgroundAudioPlayer-style play() arguments."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from livekit.agents.voice.background_audio import AudioConfig, BuiltinAudioClip
from support.audio_checks import chi_square, sine, tone_level, write_wav
from support.tap import AudioTap, close_all
from support.tone_scene import write_tone_scene

from soundscape.engine import Engine, compile_scene
from soundscape.runtime import Soundscape, make_audio_source
from soundscape.runtime.compat import from_background_audio, normalize_play
from soundscape.scene.model import LEVELS_FILE

RATE = 48000


@pytest.fixture
def clips(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, f in (("amb", 220.0), ("k1", 660.0), ("k2", 990.0)):
        out[name] = str(write_wav(tmp_path / f"{name}.wav", sine(f, 1.0, 0.5)))
    return out


def test_builtin_clips_become_builtin_sources():
    scene = from_background_audio(
        ambient_sound=AudioConfig(BuiltinAudioClip.OFFICE_AMBIENCE, volume=0.3),
        thinking_sound=[
            AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING, volume=0.6, probability=0.5),
            AudioConfig(BuiltinAudioClip.KEYBOARD_TYPING2, volume=0.6, probability=0.3),
        ],
    )
    amb = scene.sounds["ambient"].variants
    assert [(v.source, v.gain) for v in amb] == [("builtin:office-ambience", 0.3)]
    # The player's literal volumes: relative to the file, not brought to a level.
    assert scene.levels == LEVELS_FILE
    think = scene.sounds["thinking"]
    assert [(v.source, v.weight) for v in think.variants] == [
        ("builtin:keyboard-typing", 0.5),
        ("builtin:keyboard-typing2", 0.3),
    ]
    assert think.silence == pytest.approx(0.2)
    assert scene.states["thinking"].cues[0].sound == "thinking"
    assert scene.layers["ambient"].sound == "ambient"


def test_scene_sounds_like_the_player(clips):
    # Ambient loops at its volume from the start; thinking plays only while thinking.
    scene = from_background_audio(
        ambient_sound=AudioConfig(clips["amb"], volume=0.3), thinking_sound=clips["k1"]
    )
    eng = Engine(compile_scene(scene), seed=1)
    idle = eng.render(RATE // 2)
    eng.post("agent.thinking")
    thinking = eng.render(RATE // 2)
    eng.post("agent.speaking")
    speaking = eng.render(RATE // 2)
    assert tone_level(idle[RATE // 4 :], 220.0) == pytest.approx(0.15, rel=0.03)
    assert tone_level(idle, 660.0) < 1e-3
    assert tone_level(thinking[RATE // 10 :], 660.0) == pytest.approx(0.5, rel=0.05)
    assert tone_level(speaking[RATE // 4 :], 660.0) < 1e-3


def test_probabilities_pick_like_the_player(clips):
    # BackgroundAudioPlayer: 0.5 → k1, 0.3 → k2, 0.2 → nothing at all.
    scene = from_background_audio(
        thinking_sound=[
            AudioConfig(clips["k1"], probability=0.5),
            AudioConfig(clips["k2"], probability=0.3),
        ]
    )
    plan = compile_scene(scene)
    seen: Counter[str] = Counter()
    for seed in range(300):
        eng = Engine(plan, seed=seed)
        eng.post("agent.thinking")
        out = eng.render(RATE // 20)
        k1, k2 = tone_level(out, 660.0), tone_level(out, 990.0)
        seen["k1" if k1 > 0.2 else "k2" if k2 > 0.2 else "none"] += 1
    assert chi_square(seen, {"k1": 0.5, "k2": 0.3, "none": 0.2}) < 13.8  # p = 0.001, 2 dof


def test_an_iterator_cannot_be_a_scene_sound():
    async def frames():
        yield None

    with pytest.raises(ValueError, match=r"async iterator cannot be the ambient sound.*scape.play"):
        from_background_audio(ambient_sound=frames())


def test_play_arguments_normalize_like_the_player(clips):
    assert normalize_play(BuiltinAudioClip.HOLD_MUSIC) == ("builtin:hold-music", 1.0, 0.0, 0.0)
    cfg = AudioConfig(clips["k1"], volume=0.4, fade_in=0.2, fade_out=0.5)
    assert normalize_play(cfg) == (clips["k1"], 0.4, 0.2, 0.5)
    assert normalize_play([AudioConfig(clips["k1"], probability=0.0)]) is None


async def test_play_an_audio_config_at_its_volume(tmp_path, clips):
    scape = Soundscape(write_tone_scene(tmp_path), seed=1)
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    await scape.start(audio_source=source)
    await asyncio.sleep(0.1)
    await asyncio.wait_for(scape.play(AudioConfig(clips["k2"], volume=0.4)), timeout=5)
    await scape.aclose()
    y = tap.heard()[:, 0]
    await close_all()
    from support.audio_checks import tone_track

    track = tone_track(y, 990.0, 960)
    on = track[track > 0.05]
    assert 48 <= on.size <= 51  # one second
    assert float(on[2:-2].mean()) == pytest.approx(0.2, rel=0.05)
