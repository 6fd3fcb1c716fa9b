"""Ducking keyed by the agent's voice signal (`duck: {by: voice}` / `both`): the bed against
the voice's envelope, hold between words, the speaking state, rewinds, block sizes, clicks."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from support.audio_checks import clicks, db, dc, scene_engine, sine, step_bound

from soundscape.engine import ArrayVoiceKey, Engine

R = 48000
DEPTH_DB = -12.0
DEPTH = 10 ** (DEPTH_DB / 20)
ATTACK, RELEASE, HOLD = 0.05, 0.4, 0.25
CELL = R // 1000  # the detector decides every millisecond
WINDOW = 0.010  # the 10 ms RMS the threshold is compared with
FADE = 240  # every voice starts with at least a 5 ms fade-in

BED = f"""
version: 1
layers:
  bed:
    source: bed.wav
    fade_in: 0
    duck: {{by: %s, depth: {DEPTH_DB} dB, attack: 50ms, release: 400ms%s}}
states:
  idle: {{}}
  listening: {{}}
  speaking: {{}}
"""

# Words 1.0-1.3, 1.4-1.7, 1.8-2.0 s (gaps of 100 ms, under the hold), then 3.0-3.5 s.
WORDS = [(1.0, 1.3), (1.4, 1.7), (1.8, 2.0), (3.0, 3.5)]


def speech_like(words: list[tuple[float, float]], seconds: float, amp: float = 0.3) -> np.ndarray:
    """Voiced bursts: a 140 Hz buzz (fundamental and two harmonics) with a 5 Hz syllable
    envelope that never quite closes inside a word; true silence between words."""
    t = np.arange(round(seconds * R)) / R
    buzz = np.sin(2 * np.pi * 140 * t) + 0.5 * np.sin(2 * np.pi * 280 * t)
    buzz += 0.25 * np.sin(2 * np.pi * 420 * t)
    out = np.zeros_like(t)
    for a, b in words:
        i, j = round(a * R), round(b * R)
        syll = 0.6 + 0.4 * np.cos(2 * np.pi * 5 * (t[i:j] - a))
        out[i:j] = amp / 1.75 * buzz[i:j] * syll
    return out.astype(np.float32)


def engine(by: str = "voice", voice: np.ndarray | None = None, *, text: str = BED) -> Engine:
    hold = "" if by == "speaking" else ", hold: 250ms"
    eng = scene_engine(text % (by, hold), {"bed.wav": dc(0.5, 1.0)})
    if voice is not None:
        eng.voice_key = ArrayVoiceKey(voice)
    return eng


def gain_db(out: np.ndarray, t: float) -> float:
    """The bed's level at time ``t`` relative to its full level (a DC bed: out = 0.5 × gain)."""
    return db(float(out[round(t * R)]) / 0.5)


def test_the_bed_follows_the_voice_without_pumping_between_words() -> None:
    voice = speech_like(WORDS, 4.5)
    out = engine("voice", voice).render(round(4.5 * R))[:, 0]
    # Full level before the voice, exactly.
    assert np.all(out[FADE:R] == pytest.approx(0.5, abs=1e-7))
    for (on, _), off in ((WORDS[0], WORDS[2][1]), (WORDS[3], WORDS[3][1])):
        # At depth one attack after the onset (+ the 1 ms grid + a sample)...
        down = on + ATTACK + 0.001 + 1 / R
        assert gain_db(out, down) == pytest.approx(DEPTH_DB, abs=1.0)
        # ...and clearly on the way down half an attack in.
        assert gain_db(out, on + ATTACK / 2) < -1.5
        # Down all through the voice, the 100 ms gaps between words included: no pumping.
        seg = out[round(down * R) : round((off + HOLD) * R)]
        assert db(seg.max() / 0.5) == pytest.approx(DEPTH_DB, abs=0.05), "pumped between words"
        # Back to full within hold + release (+ the 10 ms window and the grid) after it ends.
        back = off + HOLD + RELEASE + WINDOW + 0.002
        assert gain_db(out, back) == pytest.approx(0.0, abs=0.05)
        # The release rises steadily: no dip on the way up.
        rise = out[round((off + HOLD) * R) : round(back * R)]
        assert np.all(np.diff(rise) >= -1e-7)
    # Between the phrases (a 1 s pause, longer than hold + release) the bed is fully back.
    assert np.all(out[round(2.67 * R) : 3 * R] == pytest.approx(0.5, abs=1e-6))


def test_a_pause_longer_than_the_hold_lets_the_bed_breathe() -> None:
    # A 450 ms gap: past the 250 ms hold the bed starts back up before the next word.
    voice = speech_like([(0.5, 1.0), (1.45, 2.0)], 2.5)
    out = engine("voice", voice).render(round(2.5 * R))[:, 0]
    assert gain_db(out, 0.9) == pytest.approx(DEPTH_DB, abs=0.05)
    peak_in_gap = db(out[round(1.0 * R) : round(1.5 * R)].max() / 0.5)
    assert -9.0 < peak_in_gap < -2.0  # rose audibly, not all the way
    assert gain_db(out, 1.45 + ATTACK + 0.002) == pytest.approx(DEPTH_DB, abs=1.0)


def test_the_threshold_decides_what_counts_as_voice() -> None:
    text = """
    version: 1
    layers:
      deaf: {source: bed.wav, fade_in: 0, duck: {by: voice, threshold: -40 dBFS}}
      keen: {source: b2.wav, fade_in: 0, duck: {by: voice, threshold: -55 dBFS}}
    """
    eng = scene_engine(text, {"bed.wav": dc(0.25, 1.0), "b2.wav": sine(1000, 1.0, 0.25)})
    # A soft voice: RMS -48 dBFS, between the two thresholds.
    soft = sine(300, 2.0, 10 ** (-48 / 20) * math.sqrt(2))[:, 0]
    soft[: R // 2] = 0
    eng.voice_key = ArrayVoiceKey(soft)
    out = eng.render(2 * R)[:, 0]
    # The DC layer's level is the output's mean over whole 1 kHz periods.
    late = out[round(1.5 * R) : round(1.5 * R) + 4800]
    early = out[round(0.2 * R) : round(0.2 * R) + 4800]
    assert late.mean() == pytest.approx(0.25, abs=1e-4)  # the -40 dBFS duck did not move
    assert early.mean() == pytest.approx(0.25, abs=1e-4)
    tone = lambda seg: float(np.sqrt(np.mean((seg - seg.mean()) ** 2)))  # noqa: E731
    assert db(tone(late) / tone(early)) == pytest.approx(DEPTH_DB, abs=0.1)  # -55 dBFS: ducked


def test_the_duck_engages_where_the_voice_s_10ms_rms_reaches_the_threshold() -> None:
    # A voice swelling slowly from silence: its RMS crosses -40 dBFS at one known moment.
    t = np.arange(2 * R) / R
    voice = (0.05 * t * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    window = round(WINDOW * R)
    power = np.convolve(voice.astype(np.float64) ** 2, np.ones(window) / window)[: 2 * R]
    crossing = int(np.flatnonzero(power >= 10 ** (-40 / 10))[0])  # the last sample it needs
    out = engine("voice", voice).render(2 * R)[:, 0]
    moved = int(np.flatnonzero(out[FADE:] < 0.5)[0]) + FADE
    # Decided at the end of the 1 ms cell holding that sample, where the ramp starts.
    assert crossing < moved <= crossing + CELL


def test_by_speaking_does_not_hear_the_voice() -> None:
    voice = speech_like(WORDS, 4.0)
    with_key = engine("speaking", voice)
    without = engine("speaking")
    for eng in (with_key, without):
        eng.post("agent.speaking", at=R // 2)
        eng.post("agent.listening", at=round(2.5 * R))
    a, b = with_key.render(4 * R), without.render(4 * R)
    assert a.tobytes() == b.tobytes()
    assert gain_db(a[:, 0], 1.5) == pytest.approx(DEPTH_DB, abs=1e-3)  # the state still ducks
    assert gain_db(a[:, 0], 3.2) == pytest.approx(0.0, abs=1e-3)  # the voice at 3.0 does not


def test_a_scene_without_voice_ducks_never_reads_the_key() -> None:
    class Counting(ArrayVoiceKey):
        reads = 0

        def read(self, start: int, n: int) -> np.ndarray | None:
            Counting.reads += 1
            return super().read(start, n)

    eng = engine("speaking")
    assert not eng.plan.keys_on_voice
    eng.voice_key = Counting(speech_like(WORDS, 4.0))
    eng.render(4 * R)
    assert Counting.reads == 0


def test_by_voice_does_not_follow_the_speaking_state() -> None:
    eng = engine("voice")
    eng.post("agent.speaking", at=R // 2)
    out = eng.render(2 * R)[:, 0]
    assert np.all(out[FADE:] == pytest.approx(0.5, abs=1e-7))


def test_both_ducks_while_either_says_so_and_never_twice_as_deep() -> None:
    voice = speech_like([(1.0, 2.0)], 4.0)
    eng = engine("both", voice)
    eng.post("agent.speaking", at=R // 2)  # the state comes first...
    eng.post("agent.listening", at=round(1.2 * R))  # ...and moves on while the voice runs on
    eng.post("agent.speaking", at=round(2.8 * R))
    eng.post("agent.listening", at=round(3.0 * R))
    out = eng.render(4 * R)[:, 0]
    assert gain_db(out, 0.5 + ATTACK) == pytest.approx(DEPTH_DB, abs=1e-3)  # by the state
    down = out[round((0.5 + ATTACK) * R) : round((2.0 + HOLD) * R)]
    assert db(down.max() / 0.5) == pytest.approx(DEPTH_DB, abs=1e-3)  # held by the voice
    assert db(out[FADE:].min() / 0.5) == pytest.approx(DEPTH_DB, abs=1e-3)  # one duck, not two
    assert gain_db(out, 2.0 + HOLD + RELEASE + WINDOW + 0.002) == pytest.approx(0.0, abs=0.05)
    assert gain_db(out, 2.8 + ATTACK) == pytest.approx(DEPTH_DB, abs=1e-3)  # the state alone
    assert gain_db(out, 3.0 + RELEASE) == pytest.approx(0.0, abs=1e-3)


def test_a_voice_started_while_the_voice_is_there_starts_at_depth() -> None:
    text = """
    version: 1
    sounds: {tick: bed.wav}
    states:
      idle: {}
      thinking:
        cues: [{sound: tick, duck: {by: voice, depth: -20 dB}}]
    """
    eng = scene_engine(text, {"bed.wav": dc(0.5, 1.0)})
    eng.voice_key = ArrayVoiceKey(speech_like([(0.0, 1.0)], 1.0))
    eng.post("agent.thinking", at=R // 4)
    out = eng.render(R // 2)[:, 0]
    assert out[R // 4 + 1000] == pytest.approx(0.05, abs=1e-5)


def test_without_a_key_the_voice_duck_releases() -> None:
    voice = speech_like([(0.0, 3.0)], 3.0)
    eng = engine("voice", voice)
    eng.render(R)
    assert gain_db(eng.render(1)[:, 0], 0) == pytest.approx(DEPTH_DB, abs=1e-3)
    eng.voice_key = None  # no voice known any more: as if it fell silent here
    out = eng.render(R)[:, 0]
    assert gain_db(out, HOLD - 0.01) == pytest.approx(DEPTH_DB, abs=1e-3)  # held, then...
    assert gain_db(out, HOLD + RELEASE + WINDOW + 0.002) == pytest.approx(0.0, abs=0.05)


TWO = f"""
version: 1
layers:
  bed:
    source: bed.wav
    fade_in: 0
    duck: {{by: both, depth: {DEPTH_DB} dB, attack: 50ms, release: 400ms, threshold: -30 dBFS}}
  twitchy:
    source: b2.wav
    fade_in: 0
    duck: {{by: voice, depth: -6 dB, attack: 0, release: 0, threshold: -40 dBFS, hold: 0}}
states:
  idle: {{}}
  listening: {{}}
  speaking: {{}}
"""


def _voice_run(blocks: list[int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    # Stuttering speech over a noise floor right at the twitchy layer's threshold: its
    # duck flips on many cells, each decided by that cell's samples alone.
    voice = speech_like([*WORDS, (3.7, 3.72), (3.75, 3.76)], 4.0)
    voice += (rng.standard_normal(voice.shape[0]) * 10 ** (-40 / 20)).astype(np.float32)
    eng = scene_engine(TWO, {"bed.wav": dc(0.5, 1.0), "b2.wav": sine(2000, 1.0, 0.1)})
    eng.voice_key = ArrayVoiceKey(voice)
    eng.post("agent.speaking", at=round(2.41 * R) + 17)
    eng.post("agent.listening", at=round(2.9 * R) + 3)
    return np.concatenate([eng.render(n) for n in blocks])


def test_rendering_in_blocks_of_any_size_gives_the_same_samples() -> None:
    one = _voice_run([4 * R])
    assert _voice_run([480] * 400).tobytes() == one.tobytes()
    assert _voice_run([47, 49, 1, 48, 4799] * 32 + [4 * R - 32 * 4944]).tobytes() == one.tobytes()
    assert _voice_run([7] * 3000 + [4 * R - 21000]).tobytes() == one.tobytes()
    # It did duck: the bed by the words, the twitchy layer on the noise between them.
    bed = one[round(1.1 * R) : 2 * R, 0].reshape(-1, 24).mean(axis=1)  # whole 2 kHz periods
    assert db(bed.max() / 0.5) == pytest.approx(DEPTH_DB, abs=0.2)  # ± the tone ducking
    twitch = one[round(0.2 * R) : round(0.9 * R), 0] - 0.5  # before the words: bed at full
    lows = np.abs(twitch).reshape(-1, 480).max(axis=1)
    assert lows.min() < 0.06 < 0.09 < lows.max()  # ducked in some 10 ms, not in others


@pytest.mark.parametrize("rate", [48000, 44100, 16000])
def test_one_second_in_one_block_equals_one_hundred_blocks_of_480(rate: int) -> None:
    t = np.arange(rate) / rate
    voice = (0.2 * np.sin(2 * np.pi * 150 * t) * ((t % 0.3) < 0.2)).astype(np.float32)

    def run() -> Engine:
        hold = ", hold: 50ms"  # shorter than the gaps: the duck opens and closes
        eng = scene_engine(BED % ("voice", hold), {"bed.wav": dc(0.5, 1.0)}, rate=rate)
        eng.voice_key = ArrayVoiceKey(voice)
        return eng

    big = run().render(rate)
    eng = run()
    small = np.concatenate([eng.render(480) for _ in range(rate // 480)] + [eng.render(rate % 480)])
    assert big.tobytes() == small.tobytes()
    assert db(big[rate // 10 :, 0].min() / 0.5) == pytest.approx(DEPTH_DB, abs=0.01)
    assert db(big[rate // 2 :, 0].max() / 0.5) > DEPTH_DB + 2  # and rose again in the gaps


def test_a_stereo_engine_ducks_under_a_stereo_voice() -> None:
    voice = speech_like([(0.2, 0.8)], 1.0)
    eng = scene_engine(BED % ("voice", ""), {"bed.wav": dc(0.5, 1.0)}, channels=2)
    eng.voice_key = ArrayVoiceKey(np.stack([voice, voice * 0.5], axis=1))
    out = eng.render(R)
    assert out[round(0.5 * R)] == pytest.approx([0.5 * DEPTH] * 2, abs=1e-6)


def test_a_reload_that_keeps_the_bed_keeps_its_duck_where_it_is() -> None:
    voice = speech_like(WORDS, 4.0)
    straight = engine("voice", voice).render(4 * R)
    eng = engine("voice", voice)
    first = eng.render(round(1.02 * R))  # in the attack
    again = scene_engine(BED % ("voice", ", hold: 250ms"), {"bed.wav": dc(0.5, 1.0)}).plan
    report = eng.adopt(again, 4800)
    assert report.kept == ["bed"]
    rest = eng.render(4 * R - first.shape[0])
    assert np.concatenate([first, rest]).tobytes() == straight.tobytes()


@pytest.mark.parametrize("at", [1.02, 1.5, 2.1, 2.3, 2.6])  # attack, down, hold, release
def test_snapshot_restore_re_renders_identical_samples(at: float) -> None:
    voice = speech_like(WORDS, 4.0)
    straight = engine("voice", voice).render(4 * R)
    eng = engine("voice", voice)
    first = eng.render(round(at * R) + 13)  # mid-cell: the detector's partial cell is saved
    snap = eng.snapshot()
    ahead = eng.render(R)
    eng.restore(snap)
    again = eng.render(R)
    assert ahead.tobytes() == again.tobytes()
    rest = eng.render(4 * R - first.shape[0] - R)
    assert np.concatenate([first, again, rest]).tobytes() == straight.tobytes()


def test_a_rewind_for_a_voice_that_arrived_late_equals_knowing_it_all_along() -> None:
    # The live driver renders ahead with no voice, learns of it, rewinds and renders again.
    voice = speech_like([(0.5, 1.5)], 2.0)
    on_time = engine("voice", voice).render(2 * R)
    eng = engine("voice")
    first = eng.render(R // 4)
    snap = eng.snapshot()
    eng.render(R)  # rendered ahead without the voice, never played
    eng.restore(snap)
    eng.voice_key = ArrayVoiceKey(voice)
    late = np.concatenate([first, eng.render(2 * R - R // 4)])
    assert late.tobytes() == on_time.tobytes()


def test_the_ducked_bed_never_clicks() -> None:
    text = """
    version: 1
    layers:
      bed: {source: bed.wav, fade_in: 0, duck: {by: voice, depth: -20 dB, attack: 0, release: 0, hold: 0}}
    """
    eng = scene_engine(text, {"bed.wav": sine(220, 1.0, 0.5)})
    # The harshest key: 3 ms bursts every 7 ms, so ramps keep interrupting each other.
    t = np.arange(3 * R)
    chop = ((t % 336) < 144).astype(np.float32) * 0.5
    eng.voice_key = ArrayVoiceKey(chop * np.sin(2 * np.pi * 150 * t / R).astype(np.float32))
    out = np.concatenate([eng.render(480) for _ in range(300)])
    assert db(out[R:, 0].max() / 0.5) < -3.0  # it did duck
    assert clicks(out, material_step=step_bound([(0.5, 220)])) == []


def test_a_broken_key_is_heard_as_no_voice(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def read(self, start: int, n: int) -> np.ndarray | None:
            return np.ones(n + 1, np.float32)  # one sample too many

    eng = engine("voice")
    eng.voice_key = Broken()
    with caplog.at_level(logging.ERROR, logger="soundscape"):
        out = eng.render(R // 2)[:, 0]
        eng.render(R // 2)
    assert np.all(out[FADE:] == pytest.approx(0.5, abs=1e-7))
    assert sum("voice key" in r.getMessage() for r in caplog.records) == 1  # said once


KEYED = {
    "layer": "layers:\n  bed: {source: bed.wav, duck: %s}\n",
    "cue": "states:\n  idle:\n    cues: [{sound: s, duck: %s}]\n",
    "scatter": "scatter:\n  drops: {sound: s, interval: [1s, 2s], duck: %s}\n",
    "timer": "states:\n  idle:\n    after:\n      2s: {play: {sound: s, duck: %s}}\n",
    "transition": "transitions:\n  - {on: agent.thinking, play: {sound: s, duck: %s}}\n",
}


@pytest.mark.parametrize("where", sorted(KEYED))
def test_the_plan_says_when_it_keys_on_the_voice(where: str) -> None:
    def plan_of(duck: str):
        text = "version: 1\nsounds: {s: bed.wav}\n" + KEYED[where] % duck
        return scene_engine(text, {"bed.wav": dc(0.5, 1.0)}).plan

    assert plan_of("{by: voice}").keys_on_voice
    assert plan_of("both").keys_on_voice
    assert not plan_of("true").keys_on_voice
    assert not plan_of("{by: speaking, depth: -6 dB}").keys_on_voice


def _espeak_voice() -> np.ndarray:
    from soundscape.demo.espeak import ESPEAK_RATE, espeak_binary, speak

    if espeak_binary() is None:
        pytest.skip("espeak-ng is not installed")
    text = (
        "Thanks for calling. Your order has shipped, and it should arrive on Thursday. "
        "Is there anything else I can help you with today?"
    )
    pcm = speak(text).astype(np.float64)
    n = int(pcm.shape[0] * R / ESPEAK_RATE)
    x = np.interp(np.arange(n) * ESPEAK_RATE / R, np.arange(pcm.shape[0]), pcm)
    x *= 0.1 / np.sqrt(np.mean(x[np.abs(x) > 0.01] ** 2))  # about -20 dBFS while it talks
    return np.concatenate([np.zeros(R), x, np.zeros(R)]).astype(np.float32)


def test_under_real_speech_the_bed_comes_back_only_in_pauses_longer_than_the_hold() -> None:
    voice = _espeak_voice()
    eng = scene_engine(
        "version: 1\nlayers:\n  bed: {source: bed.wav, fade_in: 0, duck: voice}\n",
        {"bed.wav": dc(0.5, 1.0)},
    )
    eng.voice_key = ArrayVoiceKey(voice)
    out = np.concatenate([eng.render(480) for _ in range(voice.shape[0] // 480)])[:, 0] / 0.5
    n = out.shape[0]
    # Where the voice was present: its 10 ms RMS at or above the -40 dBFS threshold.
    window = round(WINDOW * R)
    power = np.convolve(voice[:n].astype(np.float64) ** 2, np.ones(window) / window)[:n]
    present = np.flatnonzero(power >= 1e-4)
    speech = slice(present[0], present[-1])
    down = out < 10 ** (-12 / 20) * 1.01  # at the default -12 dB depth
    assert down[speech].mean() > 0.85  # down through nearly all of it
    # Every time the bed starts back up inside the speech, the voice had been gone for the
    # whole hold (250 ms) before: no pumping between syllables or words.
    rising = np.flatnonzero(down[:-1] & ~down[1:])
    rising = rising[(rising > speech.start) & (rising < speech.stop)]
    assert rising.size >= 1  # it breathes between sentences
    for i in rising:
        last_voice = present[present <= i][-1]
        assert i - last_voice >= round(0.25 * R), (i / R, last_voice / R)
