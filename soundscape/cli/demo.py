"""`soundscape demo`: a scripted agent call on a local LiveKit server, recorded as the caller hears it."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import AssetError, SceneError


def default_scene() -> Path:
    """scenes/office.yaml: shipped inside the package when installed, else beside it."""
    pkg = Path(__file__).resolve().parent.parent
    for candidate in (pkg / "_scenes" / "office.yaml", pkg.parent / "scenes" / "office.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the default scene (scenes/office.yaml) is missing from this install")


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scene", type=Path, help="the scene to play (default: scenes/office.yaml)")
    p.add_argument("-o", "--output", type=Path, default=Path("demo.wav"),
                   help="the WAV of what the caller heard (default: demo.wav)")  # fmt: skip
    p.add_argument("--plot", type=Path, help="also draw a timeline picture (PNG)")
    p.add_argument("--offline", action="store_true",
                   help="do not use a LiveKit server: render the same call offline")  # fmt: skip
    p.add_argument("--voice", choices=("espeak", "synthetic"),
                   help="the agent's voice (default: espeak-ng when installed)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _server() -> tuple[Any, str, str, str, str]:
    """(LocalServer or None, url, key, secret, description); raises ServerUnavailable."""
    from ..demo.livekit_local import VERSION, LocalServer

    url = os.environ.get("LIVEKIT_URL")
    key, secret = os.environ.get("LIVEKIT_API_KEY"), os.environ.get("LIVEKIT_API_SECRET")
    if url and key and secret:
        return None, url, key, secret, f"{url} (from LIVEKIT_URL)"
    server = LocalServer().start()
    return (
        server,
        server.url,
        server.api_key,
        server.api_secret,
        (f"{server.url} (local livekit-server {VERSION}, {server.binary})"),
    )


def run(args: argparse.Namespace) -> int:
    from ..audio.wav import write_wav
    from ..demo.live import run_live
    from ..demo.offline import render_offline
    from ..errors import ServerUnavailable
    from ..scene import load

    try:
        scene_path = args.scene or default_scene()
        scene = load(scene_path)
    except SceneError as e:
        print(e, file=sys.stderr)
        return 1
    except FileNotFoundError as e:
        print(f"soundscape demo: {e}", file=sys.stderr)
        return 1
    voice = "synthetic" if args.voice == "synthetic" else None
    result = None
    if not args.offline:
        try:
            server, url, key, secret, where = _server()
        except ServerUnavailable as e:
            print(f"soundscape demo: no LiveKit server: {e}", file=sys.stderr)
            print("soundscape demo: rendering the same call offline instead", file=sys.stderr)
        else:
            print(f"soundscape demo: {scene.name or scene_path.stem} on {where}",
                  file=sys.stderr if args.json else sys.stdout)  # fmt: skip
            try:
                result = asyncio.run(run_live(scene, url, key, secret, voice=voice))
                result.server = where
            except AssetError as e:
                print(f"{scene_path}: cannot load audio: {e}", file=sys.stderr)
                return 1
            except Exception as e:
                detail = server.log_tail(20) if server is not None else ""
                print(f"soundscape demo: the live call failed ({type(e).__name__}: {e})",
                      file=sys.stderr)  # fmt: skip
                if detail:
                    print(f"server log:\n{detail}", file=sys.stderr)
                print("soundscape demo: rendering the same call offline instead", file=sys.stderr)
            finally:
                if server is not None:
                    server.cleanup()
    if result is None:
        try:
            result = render_offline(scene, voice=voice)
        except AssetError as e:
            print(f"{scene_path}: cannot load audio: {e}", file=sys.stderr)
            return 1
    try:
        write_wav(args.output, result.rendered.audio, result.rendered.rate, "int16")
        if args.plot:
            from ..errors import PlotUnavailable
            from ..offline.plot import plot

            try:
                title = f"soundscape demo — {scene.name or scene_path.stem} ({result.mode})"
                plot(result.rendered, args.plot, title=title)
            except PlotUnavailable as e:
                print(f"soundscape demo: {e}", file=sys.stderr)
    except OSError as e:
        print(f"soundscape demo: cannot write: {e}", file=sys.stderr)
        return 2
    summary = summarize(result, args.output, args.plot)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0


def summarize(result: Any, output: Path, plot: Path | None) -> dict[str, Any]:
    """The demo's results as plain data (what `--json` prints)."""
    r = result.rendered
    base = r.summary()
    cues = Counter(v.name for v in r.voices if v.kind not in ("layer", "speech"))
    return {
        "mode": result.mode,
        "server": result.server,
        "voice": result.voice,
        "output": str(output),
        "plot": str(plot) if plot else None,
        "duration_s": base["duration_s"],
        "states": base["states"],
        "cues_played": dict(sorted(cues.items())),
        "layers": base["layers"],
        "agent_said": result.spoken,
        "user_said": result.user_said,
        "network_delay_ms": None if result.network is None else round(result.network * 1000, 1),
        "latency": [
            {
                "state": lat.state,
                "event": lat.event,
                "at": round(lat.at, 3),
                "engine_ms": round(lat.engine * 1000, 1),
                "total_ms": None if lat.total is None else round(lat.total * 1000, 1),
            }
            for lat in result.latencies
        ],
        "levels": base["levels"],
        "voice_ref_lufs": r.levels[0].voice if r.levels else None,
        "peak_dbfs": base["peak_dbfs"],
    }


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"wrote {s['output']} ({s['duration_s']:.1f} s, 48 kHz mono, int16): what the caller "
        f"heard — agent voice ({s['voice']}) + soundscape"
        + (" [offline render: no server]" if s["mode"] == "offline" else "")
    ]
    if s["plot"]:
        lines.append(f"drew {s['plot']}")
    lines.append("states: " + " → ".join(f"{x['state']}@{x['at']:.1f}s" for x in s["states"]))
    cues = ", ".join(f"{k}×{v}" for k, v in s["cues_played"].items()) or "none"
    lines.append(f"layers: {', '.join(s['layers']) or 'none'}; cues played: {cues}")
    if s.get("levels"):
        lines.append(f"levels (voice {s['voice_ref_lufs']:.1f} LUFS):")
        lines += [f"  {level_line(lv)}" for lv in s["levels"]]
    if s["latency"]:
        net = s["network_delay_ms"]
        lines.append(
            "state change → audible at the caller"
            + (
                f" (network, SFU and jitter buffer: {net:.0f} ms):"
                if net is not None
                else " (network delay unknown; engine part only):"
            )
        )
        for lat in s["latency"]:
            total = f"{lat['total_ms']:.0f} ms" if lat["total_ms"] is not None else "?"
            lines.append(f"  {lat['at']:6.1f}s  {lat['event']} → {lat['state']}: {total} "
                         f"(engine {lat['engine_ms']:.0f} ms)")  # fmt: skip
    return "\n".join(lines)


def level_line(lv: dict[str, Any]) -> str:
    """One entry of `levels` as the render prints it: `layer room: -45.0 LUFS (voice -25.0 LU)`."""
    where = lv["where"]
    at = f" {'on' if lv['kind'] == 'transition' else 'in'} {where}" if where else ""
    if lv["lufs"] is None:
        return f"{lv['kind']} {lv['name']}{at}: silent"
    return f"{lv['kind']} {lv['name']}{at}: {lv['lufs']:.1f} LUFS (voice {lv['voice_lu']:+.1f} LU)"
