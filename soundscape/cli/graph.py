"""`soundscape graph`: a scene's states, transitions, timers and cues as a diagram."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import SceneError

FORMATS = {
    ".md": "md",
    ".mmd": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}


def add_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("scene", type=Path, help="the scene file")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="write here; the suffix picks the format: .md (mermaid in a fenced block), .mmd "
        "(bare mermaid), .dot, .svg or .png (the last two need Graphviz). Default: Markdown "
        "on stdout",
    )


def run(args: argparse.Namespace) -> int:
    from ..authoring.graph import render_image, scene_graph, to_dot, to_mermaid
    from ..errors import GraphvizMissing
    from ..scene import load

    out: Path | None = args.output
    fmt = "md" if out is None else FORMATS.get(out.suffix.lower())
    if fmt is None:
        known = ", ".join(FORMATS)
        print(
            f"soundscape graph: cannot tell the format of '{out}': use one of {known}",
            file=sys.stderr,
        )
        return 2
    try:
        scene = load(args.scene)
    except SceneError as e:
        print(e, file=sys.stderr)
        return 1
    graph = scene_graph(scene)
    data: str | bytes
    if fmt == "md":
        data = f"# {graph.title}\n\n```mermaid\n{to_mermaid(graph)}```\n"
    elif fmt == "mermaid":
        data = to_mermaid(graph)
    elif fmt == "dot":
        data = to_dot(graph)
    else:
        try:
            data = render_image(to_dot(graph), fmt)
        except GraphvizMissing as e:
            print(f"soundscape graph: {e}", file=sys.stderr)
            return 2
        except RuntimeError as e:
            print(f"soundscape graph: {e}", file=sys.stderr)
            return 1
    if out is None:
        assert isinstance(data, str)
        sys.stdout.write(data)
        return 0
    try:
        if isinstance(data, bytes):
            out.write_bytes(data)
        else:
            out.write_text(data, encoding="utf-8")
    except OSError as e:
        print(f"soundscape graph: cannot write '{out}': {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0
