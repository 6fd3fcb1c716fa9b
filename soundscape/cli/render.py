"""`soundscape render`: a scene under a scripted timeline → a deterministic WAV (+ a picture)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import AssetError, SceneError


def add_parser(p: argparse.ArgumentParser) -> None:
    p.epilog = (
        "A timeline file is a YAML list of {at, event, fields} entries, or a mapping with "
        "'duration' and 'events'; 'at' counts from the start (1.5s, 250ms), events at the "
        "same time apply in the order written. Format and an example: docs/authoring.md, "
        "'Script the conversation'."
    )
    p.add_argument("scene", type=Path, help="the scene file")
    p.add_argument(
        "--timeline",
        type=Path,
        metavar="FILE",
        help="a YAML list of events to play, e.g. '- {at: 1.5s, event: agent.thinking}' "
        "(default: a scripted conversation); the format: docs/authoring.md",
    )
    p.add_argument("-o", "--output", type=Path, help="WAV to write (default: SCENE_NAME.wav)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--duration", help="how long to render, e.g. 60s (default: the timeline's)")
    p.add_argument("--plot", type=Path, help="also draw the render to this PNG")
    p.add_argument("--rate", type=int, default=48000, help="sample rate (default 48000)")
    p.add_argument("--channels", type=int, choices=(1, 2), default=1)
    p.add_argument("--format", choices=("float32", "int16"), default="float32",
                   help="WAV sample format (default float32: the engine's exact output)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--phone", nargs="?", const="mulaw", choices=("mulaw", "alaw"),
                   help="write what a caller on a phone line hears: 8 kHz mono, 300-3400 Hz, "
                   "G.711 mulaw (default) or alaw; the levels are then given after the line too")  # fmt: skip
    p.add_argument("--voice", type=Path, metavar="FILE",
                   help="a recording of the agent's voice: its loudness is the reference of the "
                   "levels, with 'voice: auto' the bed follows it, and ducks keyed by the voice "
                   "('duck: {by: voice}') follow its signal, as they would live")  # fmt: skip
    p.add_argument("--mix-voice", action="store_true",
                   help="mix the --voice recording into the WAV, to hear the balance")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ..audio.wav import write_wav
    from ..offline.render import render
    from ..offline.timeline import default_timeline, load_timeline
    from ..scene import load
    from ..scene.units import parse_duration

    if not 8000 <= args.rate <= 192000:
        print("soundscape render: --rate must be between 8000 and 192000", file=sys.stderr)
        return 2
    try:
        duration = parse_duration(args.duration) if args.duration else None
    except Exception:
        print(
            f"soundscape render: --duration '{args.duration}' is not a duration like 60s",
            file=sys.stderr,
        )
        return 2
    if args.mix_voice and args.voice is None:
        print("soundscape render: --mix-voice needs --voice FILE", file=sys.stderr)
        return 2
    try:
        scene = load(args.scene)
        voice = None
        if args.voice is not None:
            from ..audio import load_clip

            try:
                voice = load_clip(args.voice, args.rate, args.channels).samples
            except AssetError as e:
                print(f"soundscape render: --voice: {e}", file=sys.stderr)
                return 1
        timeline = load_timeline(args.timeline, scene) if args.timeline else default_timeline(scene)
        result = render(
            scene,
            timeline,
            seed=args.seed,
            rate=args.rate,
            channels=args.channels,
            duration=duration,
            voice=voice,
        )
    except SceneError as e:
        print(e, file=sys.stderr)
        return 1
    except AssetError as e:
        print(f"{args.scene}: cannot load audio: {e}", file=sys.stderr)
        return 1
    out = args.output or Path(f"{args.scene.stem}{'-phone' if args.phone else ''}.wav")
    if args.mix_voice and voice is not None:
        n = min(len(voice), len(result.audio))
        result.audio[:n] += voice[:n]
    phone = None
    phone_levels = None
    if args.phone:
        from ..audio.analysis import integrated_loudness
        from ..audio.phone import phone_line
        from ..offline.levels import scene_levels

        phone = phone_line(result.audio, result.rate, args.phone)
        voice_phone = None
        if voice is not None:
            line = phone_line(voice, result.rate, args.phone)
            voice_phone = integrated_loudness(line.audio, line.rate)
        assert result.plan is not None
        phone_levels = scene_levels(
            result.plan, voice=result.voice_lufs, phone=True, voice_phone=voice_phone
        )
    try:
        if phone is not None:
            write_wav(out, phone.audio, phone.rate, args.format)
        else:
            write_wav(out, result.audio, result.rate, args.format)
        if args.plot:
            from ..errors import PlotUnavailable
            from ..offline.plot import plot

            try:
                plot(result, args.plot, title=f"{scene.name or args.scene.stem} — {timeline.name}")
            except PlotUnavailable as e:
                print(f"soundscape render: {e}", file=sys.stderr)
                return 2
    except OSError as e:
        print(f"soundscape render: cannot write: {e}", file=sys.stderr)
        return 2
    summary = result.summary()
    if phone is not None:
        summary["phone"] = {
            "rate": phone.rate,
            "law": phone.law,
            "band_energy": round(phone.kept, 3),
            "voice_lufs": round(phone_levels[0].voice, 1) if phone_levels else None,
            "levels": [lv.as_dict() for lv in phone_levels or []],
        }
    if args.json:
        print(json.dumps({"output": str(out), **summary}, indent=2))
        return 0
    if phone is not None:
        print(f"wrote {out} (phone line: {phone.rate} Hz mono, 300-3400 Hz, G.711 {phone.law}; "
              f"{phone.kept:.0%} of the scene's energy is inside the band)")  # fmt: skip
    else:
        print(
            f"wrote {out} ({summary['duration_s']:.1f} s, {result.rate} Hz, {args.channels} ch, {args.format})"
        )
    if args.plot:
        print(f"drew {args.plot}")
    states = " → ".join(f"{s['state']}@{s['at']:g}s" for s in summary["states"])
    print(f"states: {states}")
    cues = ", ".join(f"{k}×{v}" for k, v in summary["cues_played"].items()) or "none"
    print(f"layers: {', '.join(summary['layers']) or 'none'}; cues: {cues}")
    print(f"peak {summary['peak_dbfs']:.1f} dBFS, integrated {summary['integrated_lufs']:.1f} LUFS, "
          f"rendered at {summary['speed_x_realtime']}× real time")  # fmt: skip
    ref = (
        result.levels[0].voice if result.levels else result.plan.voice_ref if result.plan else None
    )
    if result.levels:
        said = "measured from --voice" if result.voice_lufs is not None else "the scene's"
        print(f"levels (voice {ref:.1f} LUFS, {said}):")
        for lv in result.levels:
            print(f"  {lv.line()}")
    if phone_levels:
        said = "measured" if voice is not None else "assumed"
        print(f"on the phone line (voice {phone_levels[0].voice:.1f} LUFS, {said}):")
        for lv in phone_levels:
            print(f"  {lv.line()}")
    return 0
