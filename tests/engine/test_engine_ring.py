"""Which voices survive a state change: state cues stop, a one-shot answering an event rings out."""

from __future__ import annotations

from support.audio_checks import RATE, scene_engine, sine, tone_level

SCENE = """
version: 1
triggers: {ding: a chime, dong: a chime cut by the next state}
states:
  listening: {cues: [{source: hum.wav, loop: true}]}
  speaking:
  thinking:
    after: {0.1s: {play: still.wav}}
transitions:
  - {on: trigger.ding, play: chime.wav}
  - {on: trigger.dong, play: {source: chime.wav, on_exit: stop}}
"""
CLIPS = {"hum.wav": sine(200, 1.0), "chime.wav": sine(1000, 1.0), "still.wav": sine(3000, 1.0)}


def window(x, t0: float, t1: float):
    return x[int(t0 * RATE) : int(t1 * RATE), 0]


def test_a_trigger_one_shot_rings_through_a_state_change_but_a_state_cue_stops():
    eng = scene_engine(SCENE, CLIPS)
    eng.post("trigger.ding", at=int(0.1 * RATE))
    eng.post("agent.speaking", at=int(0.3 * RATE))
    out = eng.render(int(1.2 * RATE))
    # The chime (1 kHz) keeps sounding after speaking starts at 0.3 s, to its end at 1.1 s.
    assert tone_level(window(out, 0.6, 1.0), 1000) > 0.3
    # The listening state's loop (200 Hz) is gone once its fade-out is over.
    assert tone_level(window(out, 0.6, 1.0), 200) < 1e-3
    assert tone_level(window(out, 0.05, 0.25), 200) > 0.3


def test_a_timer_play_stops_with_its_state():
    eng = scene_engine(SCENE, CLIPS)
    eng.post("agent.thinking", at=0)
    eng.post("agent.speaking", at=int(0.4 * RATE))
    out = eng.render(int(1.0 * RATE))
    assert tone_level(window(out, 0.15, 0.35), 3000) > 0.3
    assert tone_level(window(out, 0.7, 1.0), 3000) < 1e-3


def test_on_exit_stop_makes_a_transition_play_stop_with_the_state():
    eng = scene_engine(SCENE, CLIPS)
    eng.post("trigger.dong", at=int(0.1 * RATE))
    eng.post("agent.speaking", at=int(0.3 * RATE))
    out = eng.render(int(1.2 * RATE))
    assert tone_level(window(out, 0.15, 0.28), 1000) > 0.3
    assert tone_level(window(out, 0.6, 1.0), 1000) < 1e-3
