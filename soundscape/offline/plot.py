"""A picture of a render: level over time on coloured state bands, and a lane per voice."""

from __future__ import annotations

import itertools
from pathlib import Path

from ..audio.analysis import level_curve
from ..errors import PlotUnavailable
from .render import Rendered

_PALETTE = [
    "#8ecae6", "#ffb703", "#90be6d", "#f28482", "#b8b8ff", "#f6bd60", "#84a59d", "#cdb4db",
    "#a3c4f3", "#ffd6a5",
]  # fmt: skip


def plot(result: Rendered, path: Path, *, title: str = "") -> None:
    """Write a PNG (or any format matplotlib knows by the suffix) of ``result``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable(
            "--plot needs matplotlib: pip install 'soundscape[plot]' (or pip install matplotlib)"
        ) from None

    end = result.duration
    names = sorted({s for _, s in result.states})
    colour = {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(names)}
    lanes = list(dict.fromkeys(f"{v.kind}: {v.name}" for v in result.voices))
    fig, (ax, lane_ax) = plt.subplots(
        2,
        1,
        figsize=(14, 4.2 + 0.28 * max(1, len(lanes))),
        sharex=True,
        gridspec_kw={"height_ratios": [3, max(1.2, 0.28 * len(lanes))]},
    )
    bands = [*result.states, (end, "")]
    for (t0, s), (t1, _) in itertools.pairwise(bands):
        for a in (ax, lane_ax):
            a.axvspan(t0, t1, color=colour[s], alpha=0.35, lw=0)
        if t1 - t0 > end * 0.025:
            ax.text((t0 + t1) / 2, 1.0, s, transform=ax.get_xaxis_transform(), ha="center",
                    va="bottom", fontsize=9, color="#333")  # fmt: skip
    times, db = level_curve(result.audio, result.rate, 0.05)
    ax.plot(times, db, color="#1d3557", lw=1.0, label="level (50 ms RMS)")
    floor = max(-90.0, float(db[db > -119].min()) - 6.0) if (db > -119).any() else -90.0
    ax.set_ylim(floor, 0)
    ax.set_ylabel("dBFS")
    ax.grid(alpha=0.3)
    for t, name in result.events:
        ax.axvline(t, color="#555", lw=0.6, ls=":", alpha=0.8)
        ax.text(t, floor + 1, name, rotation=90, fontsize=7, va="bottom", ha="right", color="#444")
    for i, lane in enumerate(lanes):
        for v in result.voices:
            if f"{v.kind}: {v.name}" == lane:
                stop = v.stop if v.stop is not None else end
                lane_ax.broken_barh([(v.start, max(stop - v.start, end * 0.002))], (i - 0.35, 0.7),
                                    color="#e76f51" if v.kind != "layer" else "#2a9d8f")  # fmt: skip
    lane_ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    lane_ax.set_ylim(-0.6, max(0.6, len(lanes) - 0.4))
    lane_ax.invert_yaxis()
    lane_ax.set_xlabel("time (s)")
    lane_ax.set_xlim(0, end)
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
