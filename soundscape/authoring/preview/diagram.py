"""The state diagram as inline SVG, drawn server-side (the preview page loads nothing remote).

States sit on an ellipse as boxes listing their cues, layer levels and the actions that keep
them in place (internal transitions, timers that only play). Arrows are the moves between
states, labelled with event, guard and cue; A→B and B→A bend to opposite sides. The
implicit ``agent.X → X`` moves of `follow_agent` are one caption, not a dozen arrows.
Each state is a ``<g class="state" data-state="NAME">`` so the page can highlight the
current one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from html import escape

from ..graph import SceneGraph, edge_label

CHAR_W = 7.2
LINE_H = 15
PAD = 8


def _box(lines: list[str]) -> tuple[float, float]:
    width = max(len(x) for x in lines) * CHAR_W + 2 * PAD
    return max(90.0, width), len(lines) * LINE_H + 2 * PAD - 2


def _clip(cx: float, cy: float, w: float, h: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from a box's centre towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    s = min(
        (w / 2) / abs(dx) if dx else math.inf,
        (h / 2) / abs(dy) if dy else math.inf,
    )
    return cx + dx * s, cy + dy * s


def diagram_svg(graph: SceneGraph) -> str:
    """An SVG document (a string) of ``graph``."""
    stays: dict[str, list[str]] = defaultdict(list)
    moves: dict[tuple[str, str], list[str]] = defaultdict(list)
    follows = sorted({e.dest for e in graph.edges if e.kind == "agent" and e.dest})
    # A move that leaves every other state (a transition without `from`) is one caption line.
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in graph.edges:
        if e.kind == "event" and e.dest is not None:
            sources[(edge_label(e), e.dest)].add(e.source)
    names = {n.name for n in graph.nodes}
    anywhere = {key for key, srcs in sources.items() if len(names) > 2 and srcs >= names - {key[1]}}
    for e in graph.edges:
        text = edge_label(e)
        if e.kind == "agent" or (e.dest is not None and (text, e.dest) in anywhere):
            continue
        if e.dest is None:
            stays[e.source].append(f"↻ {text}")
        else:
            moves[(e.source, e.dest)].append(text)
    contents: dict[str, list[str]] = {}
    for n in graph.nodes:
        contents[n.name] = [
            n.name,
            *(f"▶ {c}" for c in n.cues),
            *(f"♫ {lv}" for lv in n.layers),
            *stays[n.name],
        ]
    sizes = {name: _box(lines) for name, lines in contents.items()}
    count = len(graph.nodes)
    widest = max(w for w, _ in sizes.values())
    tallest = max(h for _, h in sizes.values())
    rx = 0.0 if count == 1 else max(160.0, widest * 0.9 + 40 * count / 2)
    ry = 0.0 if count <= 2 else max(110.0, tallest * 0.8 + 25 * count / 2)
    captions = []
    if follows:
        text = ", ".join(f"agent.{s} → {s}" for s in follows)
        captions.append(f"follow_agent: {text} (from any state)")
    captions += [f"from any state: {text} → {dest}" for text, dest in sorted(anywhere)]
    top = 10.0 + 18.0 * len(captions)
    margin = 60.0
    cx, cy = rx + widest / 2 + margin, ry + tallest / 2 + margin + top
    pos = {}
    for i, n in enumerate(graph.nodes):
        a = -math.pi / 2 + 2 * math.pi * i / count if count > 2 else math.pi * (1 + i)
        pos[n.name] = (cx + rx * math.cos(a), cy + ry * math.sin(a))
    width, height = 2 * cx, 2 * cy - top + 10

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        'font-family="system-ui, sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
        f"<title>{escape(graph.title)}</title>",
    ]
    for i, caption in enumerate(captions):
        out.append(
            f'<text class="caption" x="10" y="{20 + 18 * i}" fill="#666">{escape(caption)}</text>'
        )
    for (src, dst), labels in moves.items():
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        # Bend to the left of the direction of travel: A→B and B→A never overlap.
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        dx, dy = x2 - x1, y2 - y1
        length = math.hypot(dx, dy) or 1.0
        bend = 28.0
        qx, qy = mx - dy / length * bend, my + dx / length * bend
        w1, h1 = sizes[src]
        w2, h2 = sizes[dst]
        sx, sy = _clip(x1, y1, w1, h1, qx, qy)
        ex, ey = _clip(x2, y2, w2, h2, qx, qy)
        joined = " | ".join(labels)
        out.append(
            f'<g class="edge" data-from="{escape(src)}" data-to="{escape(dst)}">'
            f'<path d="M{sx:.1f},{sy:.1f} Q{qx:.1f},{qy:.1f} {ex:.1f},{ey:.1f}" fill="none" '
            'stroke="#555" marker-end="url(#arrow)"/>'
            f'<text x="{qx:.1f}" y="{qy:.1f}" text-anchor="middle" fill="#224" '
            f'paint-order="stroke" stroke="#fff" stroke-width="3">{escape(joined)}</text></g>'
        )
    for n in graph.nodes:
        x, y = pos[n.name]
        w, h = sizes[n.name]
        initial = " initial" if n.name == graph.initial else ""
        out.append(
            f'<g class="state{initial}" data-state="{escape(n.name)}">'
            f'<rect x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" '
            'rx="8"/>'
        )
        for i, line in enumerate(contents[n.name]):
            cls = "name" if i == 0 else "detail"
            ty = y - h / 2 + PAD + LINE_H * (i + 1) - 4
            out.append(
                f'<text class="{cls}" x="{x - w / 2 + PAD:.1f}" y="{ty:.1f}">{escape(line)}</text>'
            )
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
