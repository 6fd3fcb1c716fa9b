"""A scene as a diagram: states, transitions (event + guard), timers and cues.

`scene_graph` reads the validated `Scene` (no audio is decoded) into a `SceneGraph`: the
scene's one state graph (`soundscape.scene.graph`, which the linter's graph rules read too)
plus what each state plays. `to_mermaid` draws it with the transitions library's mermaid
backend (for Markdown), `to_dot` writes Graphviz DOT, and `render_image` runs Graphviz's
`dot` when it is installed. The preview page draws the same graph as SVG
(`soundscape.authoring.preview.diagram`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import GraphvizMissing
from ..scene.graph import Edge, state_graph
from ..scene.model import Scene, _Plays
from ..scene.units import gain_to_db


@dataclass(frozen=True)
class Node:
    """A state and what sounds in it."""

    name: str
    cues: tuple[str, ...]
    layers: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True)
class SceneGraph:
    """What a diagram draws: one `Node` per state and the scene's edges, in that order."""

    title: str
    initial: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


def play_label(p: _Plays) -> str:
    """A cue's short name: its sound, or the file name of a direct source."""
    name = p.sound or PurePosixPath(p.source or "?").name
    loop = " (loop)" if getattr(p, "loop", False) else ""
    return f"{name}{loop}"


def edge_label(e: Edge) -> str:
    """What a diagram writes on an edge: ``event [field=a|b] ▶ cue`` or ``after 8s ▶ cue``."""
    text = f"after {e.delay:g}s" if e.kind == "timer" else f"{e.event}{_guard(e.guard or {})}"
    if e.play is not None:
        text += f" ▶ {play_label(e.play)}"
    return text


def _guard(when: Mapping[str, object]) -> str:
    parts = []
    for k, v in when.items():
        vals = v if isinstance(v, tuple) else (v,)
        parts.append(f"{k}={'|'.join(str(x) for x in vals)}")
    return f" [{', '.join(parts)}]" if parts else ""


def scene_graph(scene: Scene) -> SceneGraph:
    """The scene's states, transitions, timers and cues (nothing is decoded)."""
    graph = state_graph(scene)
    nodes = []
    for name in graph.states:
        st = scene.states.get(name)
        cues = tuple(play_label(c) for c in st.cues) if st else ()
        levels = (
            tuple(f"{k} {gain_to_db(v.gain):+.0f} dB" for k, v in st.layers.items()) if st else ()
        )
        nodes.append(Node(name, cues, levels, st.description if st else None))
    return SceneGraph(scene.name or "scene", graph.initial, tuple(nodes), graph.edges)


# --------------------------------------------------------------------------- mermaid

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def node_id(name: str, index: int) -> str:
    """A mermaid/DOT-safe identifier (scene names may hold '-' and '.')."""
    return f"s{index}_{_UNSAFE.sub('_', name)}"


def _mermaid_text(text: str) -> str:
    # Mermaid reads ';', '#' and quotes itself; replace them with look-alikes.
    return text.replace('"', "'").replace(";", ",").replace("#", "no.")


class _Drawn:
    """The model a diagram machine needs; it is never triggered."""


def to_mermaid(graph: SceneGraph) -> str:
    """A mermaid ``stateDiagram-v2`` built with `transitions`' mermaid diagram backend."""
    from transitions.extensions.diagrams import GraphMachine

    ids = {n.name: node_id(n.name, i) for i, n in enumerate(graph.nodes)}
    machine = GraphMachine(
        model=(model := _Drawn()),
        states=[ids[n.name] for n in graph.nodes],
        initial=ids[graph.initial],
        auto_transitions=False,
        graph_engine="mermaid",
        title=_mermaid_text(graph.title),
        show_conditions=False,
    )
    for n in graph.nodes:
        # The markup backend reads a `label` attribute where there is one.
        machine.get_state(ids[n.name]).label = _mermaid_text(n.name)  # type: ignore[attr-defined]
    for i, e in enumerate(graph.edges):
        # Triggers must be unique identifiers; the label carries what the designer wrote.
        dest = ids[e.dest] if e.dest is not None else None
        machine.add_transition(f"t{i}", ids[e.source], dest)
        machine.get_transitions(f"t{i}", ids[e.source])[-1].label = _mermaid_text(edge_label(e))  # type: ignore[attr-defined]
    # Labels were set after `add_transition` built its markup: have it rebuilt.
    machine._needs_update = True
    machine.get_combined_graph()
    # The diagram is of the scene, not of a running instance: no state is "active".
    machine.model_graphs[id(model)].reset_styling()
    text = str(machine.get_combined_graph().draw(None))
    # transitions writes the title as bare front matter; mermaid's front matter is YAML.
    title = _mermaid_text(graph.title)
    if text.startswith(f"---\n{title}\n---\n"):
        text = f"---\ntitle: {json.dumps(title)}\n---\n" + text[len(title) + 9 :]
    notes = []
    for n in graph.nodes:
        lines = [f"▶ {c}" for c in n.cues] + [f"♫ {lv}" for lv in n.layers]
        if lines:
            body = "\n".join(f"    {_mermaid_text(x)}" for x in lines)
            notes.append(f"  note right of {ids[n.name]}\n{body}\n  end note")
    return text.rstrip() + ("\n" + "\n".join(notes) if notes else "") + "\n"


# ---------------------------------------------------------------------------- graphviz


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(graph: SceneGraph) -> str:
    """Graphviz DOT: one box per state (its cues and layer levels inside), labelled edges."""
    ids = {n.name: node_id(n.name, i) for i, n in enumerate(graph.nodes)}
    out = [
        f'digraph "{_dot_text(graph.title)}" {{',
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f4f8", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  __start [shape=point, width=0.15, label=""];',
    ]
    for n in graph.nodes:
        lines = [n.name, *(f"▶ {c}" for c in n.cues), *(f"♫ {lv}" for lv in n.layers)]
        label = "\\n".join(_dot_text(x) for x in lines)
        out.append(f'  {ids[n.name]} [label="{label}"];')
    out.append(f"  __start -> {ids[graph.initial]};")
    styles = {"event": "", "timer": ", style=dashed", "agent": ', color="#888888"'}
    for e in graph.edges:
        dest = ids[e.dest] if e.dest is not None else ids[e.source]
        out.append(
            f'  {ids[e.source]} -> {dest} [label="{_dot_text(edge_label(e))}"{styles[e.kind]}];'
        )
    out.append("}")
    return "\n".join(out) + "\n"


def render_image(dot_source: str, fmt: str) -> bytes:
    """Run Graphviz's `dot` to draw ``fmt`` ('svg' or 'png'); `GraphvizMissing` if not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(
            "Graphviz is not installed, so no image can be drawn: install it "
            "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
            "or write Markdown with -o scene.md (mermaid)"
        )
    proc = subprocess.run(
        [exe, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout
