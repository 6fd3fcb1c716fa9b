"""`soundscape preview`: play a scene live in a local web page (127.0.0.1 only)."""

from __future__ import annotations

import argparse
import sys
import threading
import webbrowser
from pathlib import Path


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", type=Path, help="the scene file (reloaded when it changes)")
    p.add_argument(
        "--port", type=int, default=8750, help="port on 127.0.0.1 (default 8750; 0: any free port)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")


def run(args: argparse.Namespace) -> int:
    from ..authoring import preview

    if not args.scene.is_file():
        print(f"soundscape preview: {args.scene}: no such file", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print("soundscape preview: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    try:
        server = preview.serve(args.scene, port=args.port, seed=args.seed)
    except OSError as e:
        print(
            f"soundscape preview: cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}"
            " (another preview running? try --port 0)",
            file=sys.stderr,
        )
        return 2
    for d in server.live.diagnostics:
        print(d, file=sys.stderr)
    print(f"previewing {args.scene} at {server.url} (Ctrl-C to stop)", flush=True)
    if args.open:
        webbrowser.open(server.url)
    try:
        threading.Event().wait()
    finally:
        server.close()
    return 0
