"""The examples in examples/, run as real livekit-agents worker processes.

Each example runs as ``python examples/X.py dev`` against the local LiveKit server (see
tests/support/worker.py); a caller joins a fresh room, so the server dispatches a job; the
caller must hear the scene on the ``soundscape`` track and the agent's (scripted) voice on
its own track; when the caller hangs up the job process must exit, leaving nothing behind.
For cues, the test points the example at a scene of pure tones (``SOUNDSCAPE_SCENE``) so a
Goertzel detector can tell each sound apart; hold_transfer.py plays its real scene.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from support.audio_checks import sine, tone_track, write_wav
from support.worker import ROOT, WorkerFailed, call, worker

from soundscape.audio.analysis import integrated_loudness
from soundscape.demo.caller import Caller, Recording
from soundscape.demo.livekit_local import LocalServer
from soundscape.scene import load
from soundscape.scene.model import Cue, Layer, Scene

RATE = 48000
WIN = RATE // 10  # 100 ms windows for the tone detector
VOICE = 180.0  # ScriptedTTS's fundamental
BED, THINK, TOOL, PING, DONE = 220.0, 660.0, 990.0, 1320.0, 1760.0
AMP = 0.5  # every tone clip's amplitude
JOB_EXIT = 10.0  # seconds from hang-up to the job process gone


# ----------------------------------------------------------------- listening helpers


def levels(rec: Recording, freq: float) -> np.ndarray:
    """The tone's level in each 100 ms window of everything ``rec`` received."""
    return tone_track(rec.audio(), freq, WIN, RATE)


def heard(rec: Recording, freq: float, level: float) -> bool:
    return bool((levels(rec, freq) > level).any())


def first_heard(rec: Recording, freq: float, level: float) -> int | None:
    """The first 100 ms window where the tone is above ``level``."""
    hits = np.flatnonzero(levels(rec, freq) > level)
    return int(hits[0]) if hits.size else None


def episodes(rec: Recording, freq: float, on: float, off: float) -> int:
    """How many separate times the tone came on (above ``on`` after being below ``off``)."""
    n, playing = 0, False
    for x in levels(rec, freq):
        if not playing and x > on:
            n, playing = n + 1, True
        elif playing and x < off:
            playing = False
    return n


def bed_level(rec: Recording) -> float:
    """The bed's level over the last second (the median: a lost packet is not the bed)."""
    return float(np.median(levels(rec, BED)[-10:]))


def recent(rec: Recording, seconds: float) -> np.ndarray:
    audio = rec.audio()
    return audio[-int(seconds * RATE) :]


async def until(cond: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.1)


async def hang_up_and_check_job_ends(w, caller: Caller) -> None:  # type: ignore[no-untyped-def]
    """The caller leaves; the job process must be gone within JOB_EXIT seconds."""
    jobs = w.jobs()
    assert jobs, f"no job process while the call was up:\n{w.log_tail()}"
    await caller.aclose()
    took = await w.wait_jobs_done(timeout=JOB_EXIT)
    log = w.log_text()
    assert "did not exit in time" not in log, w.log_tail()
    assert "Traceback" not in log, w.log_tail()
    print(f"job process exited {took:.1f} s after the hang-up; the worker's timeline:")
    keys = re.compile(
        r"registered worker|received job request|initializing process|prewarmed|"
        r"conversation_item_added|executing tool|participant disconnect|session closed|"
        r"process exiting"
    )
    for line in log.splitlines():
        if keys.search(line):
            print("  " + re.sub(r"\x1b\[[0-9;]*m", "", line)[11:110])


def voice_heard(caller: Caller) -> bool:
    return any(heard(r, VOICE, 0.03) for r in caller.tracks("roomio_audio"))


# ----------------------------------------------------------------- tone scenes

ERR = 2200.0


def toned(scene: Path, tones: dict[str, float], d: Path) -> Path:
    """The example's own scene with each ``builtin:NAME`` it plays swapped for a pure tone
    (a 1 s loop, amplitude AMP): the scene's logic and levels, but each sound identifiable."""
    text = scene.read_text(encoding="utf-8")
    used = set(re.findall(r"builtin:([a-z0-9-]+)", text))
    assert used <= set(tones), f"{scene}: no test tone for {sorted(used - set(tones))}"
    for name in used:
        write_wav(d / f"{name}.wav", sine(tones[name], 1.0, AMP))
    out = d / scene.name
    out.write_text(re.sub(r"builtin:([a-z0-9-]+)", r"\1.wav", text), encoding="utf-8")
    return out


def scene_env(scene: Path) -> dict[str, str]:
    return {"SOUNDSCAPE_SCENE": str(scene)}


def db(x: float) -> float:
    return 10 ** (x / 20)


def tone_amp(scene: Scene, freq: float, item: Layer | Cue | None = None) -> float:
    """The amplitude a test tone plays at: brought to the level the scene gives ``item``
    (None: a `play()` or transition one-shot at the scene's cue level), then its trim."""
    level = scene.levels.cue if item is None else scene.levels.of(item)
    lufs = level.lufs(scene.voice.reference)
    assert lufs is not None, "the examples give loudness levels"
    own = integrated_loudness(sine(freq, 1.0, AMP), RATE)
    trim = 1.0 if item is None else float(item.gain)
    return AMP * db(lufs - own) * trim


# ----------------------------------------------------------------- the examples


async def test_basic_office_bed_and_thinking_sound(livekit_server: LocalServer, tmp_path: Path):
    office = ROOT / "scenes" / "office.yaml"  # the bed and typing at the scene defaults
    scene = toned(office, {"office-ambience": BED, "keyboard-typing": THINK}, tmp_path)
    s = load(office)
    bed = tone_amp(s, BED, s.layers["ambience"])
    typing = tone_amp(s, THINK, s.states["thinking"].cues[0])
    async with (
        worker(livekit_server, "examples/basic.py", env=scene_env(scene), work_dir=tmp_path) as w,
        call(livekit_server) as caller,
    ):
        rec = await caller.wait_track("soundscape")
        await until(lambda: heard(rec, BED, 0.7 * bed), "the bed is heard")
        assert not heard(rec, THINK, 0.1 * typing)  # not yet: the agent has not thought
        # The scripted call: greeting, a question, a 2.5 s web search (thinking), the answer.
        await until(lambda: heard(rec, THINK, 0.7 * typing), "typing while thinking")
        start = first_heard(rec, THINK, 0.5 * typing)
        assert start is not None
        # Thinking ends when the agent answers: the typing stops, the bed plays on.
        await until(lambda: levels(rec, THINK)[-5:].max() < 0.1 * typing, "typing stops", 20)
        assert bed_level(rec) > 0.7 * bed  # the bed plays on
        thinking = levels(rec, THINK)[start:] > 0.5 * typing
        assert 1.0 < thinking.sum() / 10 < 12.0  # about the 2.5 s search plus the LLM's pause
        await until(lambda: voice_heard(caller), "the agent's voice")
        # prewarm() decoded the scene when the job process started; the job reused it.
        log = w.log_text()
        compiled = log.count(f"compiled {scene}")
        assert "prewarmed" in log and compiled == 1, f"compiled {compiled}×: prewarm not reused"
        await hang_up_and_check_job_ends(w, caller)


async def test_advanced_tools_play_a_notification_and_a_thinking_indicator(
    livekit_server: LocalServer, tmp_path: Path
):
    path = ROOT / "examples" / "scenes" / "assistant.yaml"
    scene = toned(
        path, {"office-ambience": BED, "notification": PING, "thinking-pulse": THINK}, tmp_path
    )
    s = load(path)
    # The notification (a transition's one-shot) and the thinking loop (scape.play()) play
    # at the scene's cue level; the bed at its layer level.
    bed, ping, thinking = (
        tone_amp(s, BED, s.layers["ambience"]),
        tone_amp(s, PING),
        tone_amp(s, THINK),
    )
    async with (
        worker(
            livekit_server, "examples/advanced.py", env=scene_env(scene), work_dir=tmp_path
        ) as w,
        call(livekit_server) as caller,
    ):
        rec = await caller.wait_track("soundscape")
        await until(lambda: heard(rec, BED, 0.7 * bed), "the bed is heard")
        assert not heard(rec, PING, 0.1 * ping)
        # "Ping me": the LLM calls `notify` (a tool made from the scene's trigger).
        await until(lambda: heard(rec, PING, 0.7 * ping), "the notification")
        # "Think about it": start_thinking_sound(seconds=20) loops the thinking sound.
        await until(lambda: heard(rec, THINK, 0.7 * thinking), "the thinking indicator")
        on = time.monotonic()
        # "Never mind, stop": stop_thinking_sound() ends it long before its 20 s are up.
        await until(
            lambda: levels(rec, THINK)[-5:].max() < 0.1 * thinking, "the indicator stops", 20
        )
        assert time.monotonic() - on < 15.0
        assert bed_level(rec) > 0.7 * bed  # the bed plays on
        await until(lambda: voice_heard(caller), "the agent's voice")
        await hang_up_and_check_job_ends(w, caller)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples" / "scenes").glob("*.yaml")), ids=lambda p: p.name
)
def test_example_scene_lints_clean(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from soundscape.lint import lint_file

    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(tmp_path))  # lint caches its results

    bad = [d for d in lint_file(path) if d.severity in ("warning", "error")]
    assert bad == [], "\n".join(str(d) for d in bad)
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../docs/scene.schema.json"


def run_test_command(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOUNDSCAPE_CACHE_DIR": str(tmp / "cache")}
    env.pop("SOUNDSCAPE_SCENE", None)
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "advanced.py"), "test", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )


def test_advanced_test_command_checks_the_audio_setup(tmp_path: Path):
    r = run_test_command(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "examples/scenes/assistant.yaml" in r.stdout
    assert "sound notification: 0.85 s" in r.stdout  # decoded
    assert "rendered 1.0 s: peak" in r.stdout
    assert r.stdout.rstrip().endswith("OK: the audio configuration works")


def test_advanced_test_command_fails_clearly_on_a_broken_scene(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nlayers:\n  bed: {source: builtin:office-ambience, gain: loud}\n")
    r = run_test_command(tmp_path, str(bad))
    assert r.returncode == 1
    assert f"{bad}:3:" in r.stdout and "gain" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr
    # A scene that loads but lacks what the example's tools use.
    r = run_test_command(tmp_path, str(ROOT / "scenes" / "office.yaml"))
    assert r.returncode == 1
    assert "no sound 'thinking'" in r.stdout and "no trigger 'notify'" in r.stdout


async def test_hold_transfer_plays_hold_music_until_resume(
    livekit_server: LocalServer, tmp_path: Path
):
    # The real scenes/hold.yaml: office bed, hold music on `transfer`, bed again on `resume`.
    # Long enough for the music to be heard at full level for seconds (it comes in after
    # 0.8 s with a 1.5 s fade): with 4 s it was for 1.7 s, and a loaded run missed it.
    hold = {"HOLD_SECONDS": "8"}
    async with (
        worker(livekit_server, "examples/hold_transfer.py", env=hold, work_dir=tmp_path) as w,
        call(livekit_server) as caller,
    ):
        rec = await caller.wait_track("soundscape")
        s = load(ROOT / "scenes" / "hold.yaml")
        voice = s.voice.reference
        (music_cue,) = [c for c in s.states["on_hold"].cues if c.source == "builtin:hold-music"]
        bed_lufs = s.levels.of(s.layers["office"]).lufs(voice)
        typing_lufs = s.levels.of(s.states["thinking"].cues[0]).lufs(voice)
        music_lufs = s.levels.of(music_cue).lufs(voice)
        assert bed_lufs is not None and typing_lufs is not None and music_lufs is not None
        await until(lambda: rec.seconds > 2.5, "two seconds of the bed")
        bed = integrated_loudness(rec.audio()[RATE // 2 : int(2.5 * RATE)], RATE)
        # The bed 25 LU under the voice, through Opus and the server (a stretch of the clip).
        assert abs(bed - bed_lufs) < 3.0, f"office bed at {bed:.1f} LUFS, level {bed_lufs:g}"
        # "Can I talk to someone in sales?": transfer_to_person fires `transfer`.
        # Hold music, not the typing while the agent thinks before it calls the tool (7 LU
        # quieter): a second and a half louder than typing over the bed by half the distance
        # to the music. Judged on the levels, not on the bed as measured: a stretch of the
        # bed clip reads 1-2 LU off its level, and the margin is only 3 LU either side.
        both = 10 * np.log10(10 ** (bed_lufs / 10) + 10 ** (typing_lufs / 10))
        threshold = (both + music_lufs) / 2

        def loud(seconds: float) -> float:
            return integrated_loudness(recent(rec, seconds), RATE)

        await until(lambda: loud(1.5) > threshold, "hold music")
        await asyncio.sleep(2.0)  # past its fade-in
        music = loud(1.5)
        assert abs(music - music_lufs) < 3.0, (
            f"hold music at {music:.1f} LUFS, level {music_lufs:g}"
        )
        # Eight seconds after the transfer the colleague picks up: `resume`, the music fades out.
        await until(lambda: loud(1.0) < bed + 6.0, "the music ends", 20)
        assert loud(1.0) > bed - 10.0  # the bed is back, not silence
        print(
            f"bed {bed:.1f} LUFS, hold music {music:.1f} LUFS (levels {bed_lufs:g}, {music_lufs:g})"
        )
        await until(lambda: voice_heard(caller), "the agent's voice")
        await hang_up_and_check_job_ends(w, caller)


async def test_tool_sounds_follow_the_tool_that_runs(livekit_server: LocalServer, tmp_path: Path):
    tones = {
        "office-ambience": BED,
        "thinking-pulse": THINK,
        "keyboard-typing2": TOOL,
        "notification": PING,
        "success": DONE,
        "error": ERR,
    }
    path = ROOT / "examples" / "scenes" / "tool-sounds.yaml"
    scene = toned(path, tones, tmp_path)
    s = load(path)
    think = tone_amp(s, THINK, s.states["thinking"].cues[0])
    typing = tone_amp(s, TOOL, s.states["looking_up"].cues[0])
    ping, done = tone_amp(s, PING), tone_amp(s, DONE)
    async with (
        worker(
            livekit_server, "examples/tool_sounds.py", env=scene_env(scene), work_dir=tmp_path
        ) as w,
        call(livekit_server) as caller,
    ):
        rec = await caller.wait_track("soundscape")
        # get_time, then lookup_order (2 s), then send_email.
        await until(lambda: heard(rec, PING, 0.7 * ping), "send_email's notification", 45)
        t_think = first_heard(rec, THINK, 0.5 * think)
        t_tool = first_heard(rec, TOOL, 0.5 * typing)
        assert t_think is not None and t_tool is not None, "thinking and lookup sounds"
        # get_time came first and sounded like thinking, not like a lookup (the guard).
        assert t_think < t_tool
        assert episodes(rec, TOOL, 0.5 * typing, 0.1 * typing) == 1  # only lookup_order typed
        lookup = levels(rec, TOOL) > 0.5 * typing
        assert 1.2 < lookup.sum() / 10 < 6.0  # as long as the 2 s tool ran
        t_done = first_heard(rec, DONE, 0.5 * done)  # tool.ended, status done: success
        assert t_done is not None and t_done > t_tool
        assert not heard(rec, ERR, 0.1 * done)  # no tool failed
        await until(lambda: voice_heard(caller), "the agent's voice")
        await hang_up_and_check_job_ends(w, caller)


# ----------------------------------------------------------------- the job's lifecycle


async def test_aclose_after_the_room_disconnected_returns(
    livekit_server: LocalServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A job disconnects its room before its shutdown callbacks run, so
    ``ctx.add_shutdown_callback(scape.aclose)`` closes a scape whose room is gone; livekit
    1.1's unpublish_track never returns then, and the job hung until it was killed."""
    from livekit import rtc

    import soundscape

    monkeypatch.setenv("SOUNDSCAPE_CACHE_DIR", str(tmp_path / "cache"))
    room = rtc.Room()
    await room.connect(livekit_server.url, livekit_server.token("agent", "aclose-after"))
    scape = soundscape.Soundscape(ROOT / "scenes" / "office.yaml")
    await scape.start(room=room)
    await asyncio.sleep(0.5)
    await room.disconnect()
    await asyncio.wait_for(scape.aclose(), timeout=8.0)
    assert not scape.running


def test_worker_harness_reports_a_worker_that_dies(livekit_server: LocalServer, tmp_path: Path):
    """The harness says so (with the log) when the agent file cannot even start."""
    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemExit('no agent here')\n")

    async def run() -> None:
        async with worker(livekit_server, broken, ready_timeout=20, work_dir=tmp_path):
            pass

    with pytest.raises(WorkerFailed, match="no agent here"):
        asyncio.run(run())


def test_worker_harness_finds_processes_left_behind(livekit_server: LocalServer, tmp_path: Path):
    """A process the worker started and orphaned (re-parented away from it) is still found
    and reported, then killed."""
    fake = tmp_path / "leaky.py"
    fake.write_text(
        "import os, signal, subprocess, time\n"
        "if os.fork() == 0:  # the orphan: its parent exits at once\n"
        "    subprocess.Popen(['sleep', '60'])\n"
        "    os._exit(0)\n"
        "print('registered worker', flush=True)\n"
        "signal.signal(signal.SIGTERM, lambda *_: os._exit(0))\n"
        "time.sleep(60)\n"
    )

    async def run() -> list[int]:
        async with worker(livekit_server, fake, work_dir=tmp_path) as w:
            await until(lambda: len(w.children()) == 1, "the orphan is running", 10)
            left = w.children()
        return left

    with pytest.raises(WorkerFailed, match="left behind") as info:
        asyncio.run(run())
    assert "sleep 60" in str(info.value)


async def test_call_without_a_worker_says_no_job_came(livekit_server: LocalServer):
    with pytest.raises(AssertionError, match=r"no audio on track 'soundscape'.*dispatched"):
        async with call(livekit_server, timeout=2):
            pass


# ----------------------------------------------------------------- console mode


def run_console(tmp: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = [str(extra_path)] if extra_path else []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*path, str(ROOT)]),
        "SOUNDSCAPE_CACHE_DIR": str(tmp / "cache"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / "basic.py"), "console"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_console_without_portaudio_says_what_to_install(tmp_path: Path):
    # sounddevice looks PortAudio up with ctypes.util.find_library; make it find nothing,
    # as on a machine without libportaudio2.
    (tmp_path / "sitecustomize.py").write_text(
        "import ctypes.util\n"
        "_find = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda n: None if 'portaudio' in n else _find(n)\n"
    )
    r = run_console(tmp_path, tmp_path)
    assert r.returncode != 0
    assert "basic.py console: PortAudio library not found" in r.stderr
    assert "apt-get install libportaudio2" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def has_sound_devices() -> bool:
    try:
        import sounddevice as sd
    except OSError:  # no PortAudio at all
        return False
    try:
        sd.query_devices(kind="output")
        sd.query_devices(kind="input")
    except sd.PortAudioError:
        return False
    return True


def test_console_without_a_sound_device_says_so(tmp_path: Path):
    """Headless (no speaker, no microphone, as in CI) console mode cannot run: it says why."""
    if has_sound_devices():
        pytest.skip("this machine has a speaker and a microphone: console mode can run here")
    r = run_console(tmp_path)
    assert r.returncode != 0
    assert "basic.py console:" in r.stderr and "Traceback" not in r.stderr
    assert "no audio output device" in r.stderr or "PortAudio library not found" in r.stderr
