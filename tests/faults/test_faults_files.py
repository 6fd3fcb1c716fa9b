"""Files that change under a running scene: deleted or corrupted after load.

Before start: `start()` decodes every clip, so a clip gone since `load()` is a clear
`AssetError` there (naming the clip and the scene line), and nothing is left behind.
After start: the scene plays from what it decoded (memory, or the clip cache's mapped
files, which stay valid after an unlink), a `play()` of a file that vanished or went bad
is a clear error or a logged no-op, and the track goes on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import shutil
import time
from pathlib import Path

import pytest
from livekit.agents import Agent
from livekit.rtc import _ffi_client
from support.audio_checks import onset, tone_track
from support.room import FakeRoom
from support.tap import AudioTap, close_all
from support.tone_scene import AMP, BED, BED_GAIN, CHIME, CUE, THINK, write_tone_scene

from soundscape.audio.clips import clear_memory_cache
from soundscape.errors import AssetError
from soundscape.runtime import Soundscape, make_audio_source
from soundscape.testing import Reply, scripted_session

RATE = 48000
W = 960
FULL = BED_GAIN * AMP


@pytest.fixture(autouse=True)
async def _close_taps():
    yield
    await close_all()


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh clip cache per test, and no clip decoded earlier in this process."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(cache))
    clear_memory_cache()
    return cache


def live_ffi() -> set[int]:
    gc.collect()
    return {id(h) for h in list(_ffi_client._live_handles) if not h.disposed}


def corrupt(path: Path) -> None:
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(range(256)) * 4)


@pytest.mark.parametrize("fault", ["deleted", "corrupted"])
async def test_a_clip_gone_bad_before_start_is_a_clear_error_and_nothing_leaks(tmp_path, fault):
    d = tmp_path / "scene"
    d.mkdir()
    path = write_tone_scene(d)
    session = scripted_session([Reply("Still here.", delay=0.1)])
    await session.start(agent=Agent(instructions="test"))
    before, ffi = set(asyncio.all_tasks()), live_ffi()
    scape = Soundscape(path, seed=1)  # parses the YAML; the clips are decoded at start
    if fault == "deleted":
        (d / "think.wav").unlink()
    else:
        corrupt(d / "think.wav")
    room = FakeRoom()
    with pytest.raises(AssetError) as err:
        await scape.start(room=room, agent_session=session)
    msg = str(err.value)
    assert "think.wav" in msg and "scene.yaml:6" in msg  # the clip, and where the scene names it
    assert ("not found" in msg or "cannot read" in msg) if fault == "deleted" else "damaged" in msg
    assert not scape.running and room.local_participant.published == []
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []
    assert live_ffi() == ffi
    # The agent is unaffected, and once the file is back the same scape starts.
    await session.generate_reply(user_input="hello")
    assert session.agent_state in ("listening", "speaking")
    from support.audio_checks import sine, write_wav

    write_wav(d / "think.wav", sine(THINK, 1.0, AMP))
    await scape.start(room=room, agent_session=session)
    assert scape.running
    await scape.aclose()
    await session.aclose()


async def test_clips_deleted_and_cache_wiped_while_playing(tmp_path, own_cache, caplog):
    caplog.set_level(logging.ERROR, "soundscape")
    d = tmp_path / "scene"
    d.mkdir()
    path = write_tone_scene(d)
    extra = d / "extra.wav"
    from support.audio_checks import sine, write_wav

    write_wav(extra, sine(CHIME, 0.3, AMP))
    source = make_audio_source(RATE, 1, 1000)
    tap = AudioTap(source)
    before = set(asyncio.all_tasks())
    scape = Soundscape(path, seed=1)
    await scape.start(audio_source=source)
    assert any(own_cache.rglob("*.npy"))  # the clips are mapped from the cache
    await asyncio.sleep(0.3)
    # Everything on disk goes: the clips, the scene's folder, the cache entries mapped.
    for wav in d.glob("*.wav"):
        if wav != extra:
            wav.unlink()
    shutil.rmtree(own_cache)
    corrupt(extra)
    await asyncio.sleep(0.2)
    scape.post("agent.thinking")  # its cue was decoded at start: it plays
    t_think = time.monotonic()
    await asyncio.sleep(0.4)
    h_scene = scape.play("chime")  # a scene sound: from the plan
    await asyncio.wait_for(h_scene, timeout=5)
    h_bad = scape.play(str(extra))  # exists, no longer decodes: logged, handle ends
    await asyncio.wait_for(h_bad, timeout=5)
    with pytest.raises(
        ValueError, match=r"cannot play '.*gone\.wav': not a sound of .*scene\.yaml"
    ):
        scape.play(str(d / "gone.wav"))
    await asyncio.sleep(0.2)
    end = tap.index(time.monotonic())
    await scape.aclose()
    # A restart after all that: the plan decoded at the first start is kept.
    await scape.start(audio_source=source)
    await asyncio.sleep(0.3)
    restarted_end = tap.index(time.monotonic())
    await scape.aclose()

    assert any("extra.wav" in r.getMessage() for r in caplog.records)
    y = tap.heard()[:, 0]
    body = y[onset(y, 1e-3) + 3 * W : end]
    assert tone_track(body, BED, W).min() > 0.2 * FULL  # the bed never stopped (ducked at most)
    think = tap.index(t_think)
    assert tone_track(y[think + 3 * W : think + 15 * W], THINK, W).min() > 0.8 * CUE
    assert tone_track(y[think:end], CHIME, W).max() > 0.3
    assert tone_track(y[restarted_end - 10 * W : restarted_end], BED, W).min() > 0.95 * FULL
    assert [t for t in asyncio.all_tasks() - before if not t.done()] == []
