"""docs/performance.md and the console table, from bench/out/*.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import common

DOC = common.ROOT / "docs" / "performance.md"
ANALYSIS = Path(__file__).resolve().parents[1] / "analysis.md"
LABEL = {
    "floor": "bare AudioSource (floor)",
    "bap": "BackgroundAudioPlayer",
    "office": "soundscape office.yaml",
    "showcase": "soundscape showcase.yaml",
}


def _name(r: dict[str, Any]) -> str:
    s = LABEL[r["system"]]
    if r["system"] == "floor" and "frame_ms" in r:
        s += f", {r['frame_ms']} ms frames"
        if r.get("pace") == "blocking":
            s += ", blocking pushes"
    if r.get("latency"):
        s += f" ({r['latency']})"
    return s


def _cpu_rows() -> list[dict[str, Any]]:
    d = common.load_result("cpu")
    return d["results"] if d else []


def _find(rows: list[dict[str, Any]], system: str, n: int, **kw: Any) -> dict[str, Any] | None:
    for r in rows:
        ok = r["system"] == system and r["n"] == n and "error" not in r
        if ok and all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def _ms(r: dict[str, Any] | None) -> float | None:
    return None if r is None else r["cpu_ms_per_session_s"]


def _f(x: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def summary() -> list[tuple[str, str, str, str, str]]:
    """(target, goal, soundscape, BackgroundAudioPlayer, met?) rows."""
    rows: list[tuple[str, str, str, str, str]] = []
    cpu = _cpu_rows()
    off1 = _find(cpu, "office", 1, latency=None)
    bap1 = _find(cpu, "bap", 1)
    floor1 = _find(cpu, "floor", 1, frame_ms=off1["frame_ms"], pace="paced") if off1 else None
    bfloor1 = _find(cpu, "floor", 1, frame_ms=100, pace="paced")
    if off1:
        ok = off1["cpu_ms_per_session_s"] <= 10
        met = "yes" if ok else "no"
        if not ok and floor1 and floor1["cpu_ms_per_session_s"] > 10:
            # Say why: no player on this SDK can go below a bare source on this machine.
            met = f"no: the bare source alone costs {_f(_ms(floor1))} ms here"
        rows.append(
            (
                "CPU, office, N=1",
                "≤ 10 ms per session-s",
                _f(_ms(off1)) + " ms",
                _f(_ms(bap1)) + " ms",
                met,
            )
        )
        if floor1:
            x = off1["cpu_ms_per_session_s"] / floor1["cpu_ms_per_session_s"]
            rows.append(
                (
                    f"… as a multiple of the floor at the same frame size "
                    f"({off1['frame_ms']} ms; BackgroundAudioPlayer: 100 ms)",
                    "≤ 1.5×",
                    f"{x:.2f}×",
                    _f(bap1 and bfloor1 and _ms(bap1) / _ms(bfloor1), "{:.2f}×"),  # type: ignore[operator]
                    "yes" if x <= 1.5 else "no",
                )
            )
    lat = common.load_result("latency")
    if lat:
        res = {(r["system"], r.get("latency")): r for r in lat["results"] if "error" not in r}
        s, b = res.get(("office", None)), res.get(("bap", None))
        for key, what in (("onset", "Cue onset p95"), ("stop", "Cue stop p95")):
            sv = s[key].get("p95") if s else None
            bv = b[key].get("p95") if b else None
            rows.append(
                (
                    what + " (at the AudioSource output)",
                    "≤ 30 ms",
                    _f(sv, "{:.0f} ms"),
                    _f(bv, "{:.0f} ms"),
                    "yes" if sv is not None and sv <= 30 else "no",
                )
            )
    o50, b50 = _find(cpu, "office", 50, latency=None), _find(cpu, "bap", 50)
    if o50:
        ok = o50["sessions_kept"] == 50
        rows.append(
            (
                "50 sessions in one process keep real time",
                "50/50",
                f"{o50['sessions_kept']}/50, {o50['underruns']} underruns",
                f"{b50['sessions_kept']}/50, {b50['underruns']} underruns" if b50 else "–",
                "yes" if ok else "no",
            )
        )
    mem = common.load_result("memory")
    if mem:
        g = {r["system"]: r for r in mem["growth"] if "error" not in r}
        if "office" in g:
            v = g["office"]["rss_per_added_session_mb"]
            rows.append(
                (
                    "RSS per added session (office)",
                    "< 2 MB",
                    f"{v:.2f} MB",
                    f"{g['bap']['rss_per_added_session_mb']:.2f} MB" if "bap" in g else "–",
                    "yes" if v < 2 else "no",
                )
            )
    if off1 and bap1:
        rows.append(
            (
                "Python threads, one session",
                "no thread per sound",
                str(off1["threads_python"]),
                str(bap1["threads_python"]),
                "yes" if off1["threads_python"] <= 2 else "no",
            )
        )
    rows += _capacity_summary()
    rows += _job_start_summary()
    rows += _one_track_summary()
    ren = common.load_result("render")
    if ren:
        for r in ren["results"]:
            if "error" in r:
                continue
            v = r["offline_x_realtime_cpu"]
            rows.append(
                (
                    f"Offline render, {r['scene']}",
                    "≥ 500× real time",
                    f"{v:.0f}×",
                    "n/a",
                    "yes" if v >= 500 else "no",
                )
            )
    cli = common.load_result("cli")
    if cli:
        for k in ("help", "lint_one"):
            r = cli["results"][k]
            rows.append(
                (
                    f"CLI start, `{r['command']}`",
                    "≤ 300 ms",
                    f"{r['best_ms']:.0f} ms best",
                    "n/a",
                    "yes" if r["best_ms"] <= 300 else "no",
                )
            )
    return rows


def table() -> str:
    rows = summary()
    if not rows:
        return "(no results yet)"
    w = [max(len(r[i]) for r in rows) for i in range(5)]
    head = ("target", "goal", "soundscape", "BackgroundAudioPlayer", "met")
    w = [max(a, len(b)) for a, b in zip(w, head, strict=True)]
    lines = ["  ".join(h.ljust(x) for h, x in zip(head, w, strict=True))]
    lines += ["  ".join(c.ljust(x) for c, x in zip(r, w, strict=True)) for r in rows]
    return "\n".join(lines)


def _md(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def _machine_section() -> list[str]:
    d = next((x for x in map(common.load_result, ("cpu", "latency", "memory")) if x), None)
    if d is None:
        return ["(no results)"]
    m = d["machine"]
    v = m["versions"]
    return [
        f"- {m['nproc']} CPU cores ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}",
        f"- Python {m['python']}; soundscape {v['soundscape']}, livekit {v['livekit']}, "
        f"livekit-agents {v['livekit-agents']}, numpy {v['numpy']}, av {v['av']}",
        f"- Run at {m['when']}; load average when the CPU part finished: "
        f"{' / '.join(map(str, m['loadavg']))} (1/5/15 min). The machine is shared: other "
        "processes ran alongside, so treat single figures as ±20 %; each row's own load "
        "average is in bench/out/cpu.json.",
    ]


def _cpu_section() -> list[str]:
    rows = _cpu_rows()
    if not rows:
        return ["(not run)"]
    out = _md(
        [
            "configuration",
            "N",
            "frame ms",
            "CPU ms per session-s",
            "of which event loop",
            "× floor",
            "× BAP",
            "kept real time",
            "delivered (min)",
            "underruns (silent s)",
            "threads (Python / OS)",
            "load",
        ],
        [],
    )
    for r in rows:
        if "error" in r:
            out.append(f"| {_name(r)} | {r['n']} | | {r['error']} | | | | | | | | |")
            continue
        fl = _find(rows, "floor", r["n"], frame_ms=r["frame_ms"], pace="paced")
        bap = _find(rows, "bap", r["n"])
        ms = r["cpu_ms_per_session_s"]
        xf = f"{ms / _ms(fl):.2f}" if fl and r["system"] != "floor" else ""  # type: ignore[operator]
        xb = f"{ms / _ms(bap):.2f}" if bap and r["system"] in ("office", "showcase") else ""  # type: ignore[operator]
        out.append(
            f"| {_name(r)} | {r['n']} | {r['frame_ms']} | {ms:.2f} | "
            f"{r['cpu_main_thread_ms_per_session_s']:.2f} | {xf} | {xb} | {r['sessions_kept']}/{r['n']} | "
            f"{100 * r['delivered_ratio']['min']:.1f} % | {r['underruns']} ({r['underrun_s']:.1f} s) | "
            f"{r['threads_python']} / {r['threads_os']} | {r['loadavg'][0]} |"
        )
    return out


def _timing_section(name: str, keys: tuple[str, str], heads: list[str]) -> list[str]:
    """A table of min / median / p95 per system for two measures (bench/parts/<name>.py)."""
    d = common.load_result(name)
    if not d:
        return ["(not run)"]
    rows = []
    for r in d["results"]:
        if "error" in r:
            rows.append([_name(r), "", r["error"]] + [""] * len(heads))
            continue
        cells = [_name(r), f"{r['frame_ms']} / {r['ahead_ms']}"]
        cells += [f"{common.spread(r[k], ' / ')} (n={r[k]['n']})" for k in keys]
        if "holes" in r:
            cells.append(f"{r['holes']} in {r['streams_with_holes']}")
        cells.append(str(r["missed"]))
        rows.append(cells)
    return _md(["system", "frame / queue ms", *heads, "missed"], rows)


def _latency_section() -> list[str]:
    return _timing_section(
        "latency",
        ("onset", "stop"),
        ["onset min / median / p95 ms", "stop min / median / p95 ms"],
    )


def _play_section() -> list[str]:
    return _timing_section(
        "play_latency",
        ("file", "stream"),
        [
            "`play(file)` → audible, min / median / p95 ms",
            "`play(stream)` first frame → audible, min / median / p95 ms",
            "holes (10 ms) in streams",
        ],
    )


def _memory_section() -> list[str]:
    d = common.load_result("memory")
    if not d:
        return ["(not run)"]
    out = ["One process, sessions added while the conversation plays:", ""]
    rows = []
    for r in d["growth"]:
        if "error" in r:
            rows.append([LABEL[r["system"]], r["error"], "", "", ""])
            continue
        steps = ", ".join(f"{x['sessions']}: {x['rss']:.0f}" for x in r["rows"])
        rows.append(
            [
                LABEL[r["system"]],
                f"{r['first_session_mb']:.1f}",
                f"{r['rss_per_added_session_mb']:.2f}",
                f"{r['pss_per_added_session_mb']:.2f}",
                steps,
            ]
        )
    out += _md(
        [
            "system",
            "first session MB",
            "RSS per added session MB",
            "PSS per added session MB",
            "RSS MB after N sessions",
        ],
        rows,
    )
    out += [
        "",
        "Worker processes running at the same time (PSS splits shared pages among "
        "the processes that map them):",
        "",
    ]
    rows = []
    for r in d["sharing"]:
        if "error" in r:
            rows.append([LABEL[r["system"]], r.get("cache", ""), r["error"], "", "", ""])
            continue
        rows.append(
            [
                LABEL[r["system"]],
                r["cache"],
                f"{r['workers']} × {r['sessions_per_worker']}",
                f"{r['rss_mean_mb']:.1f}",
                f"{r['pss_mean_mb']:.1f}",
                f"{r['pss_total_mb']:.1f}",
            ]
        )
    out += _md(
        [
            "system",
            "clip cache",
            "workers × sessions",
            "RSS per process MB",
            "PSS per process MB",
            "PSS all workers MB",
        ],
        rows,
    )
    return out


def _speed_section() -> list[str]:
    out: list[str] = []
    d = common.load_result("render")
    if d:
        rows = [
            [
                r["scene"],
                f"{r['offline_x_realtime_cpu']:.0f}×",
                f"{r['offline_x_realtime_wall']:.0f}×",
                f"{r['live_block_x_realtime_cpu']:.0f}× ({r.get('live_block_ms', 100)} ms blocks)",
                f"{r['live_block_engine_ms_per_s']:.2f}",
            ]
            for r in d["results"]
            if "error" not in r
        ]
        out += _md(
            [
                "scene",
                "`render()` incl. compile, CPU time",
                "its render loop alone, wall time",
                "engine alone at the live frame size",
                "engine CPU ms per audio second, live",
            ],
            rows,
        )
        out.append("")
    d = common.load_result("lint")
    if d and "error" not in d["result"]:
        r = d["result"]
        out += _md(
            ["how", "files", "files/s", "CPU ms per file"],
            [
                [
                    "`soundscape lint` on all files, one command",
                    str(r["files"]),
                    f"{r['cli_files_per_s']:.0f}",
                    "",
                ],
                [
                    "in process, with asset checks",
                    str(r["files"]),
                    f"{r['inproc_assets_files_per_s']:.0f}",
                    f"{r['inproc_assets_cpu_ms_per_file']}",
                ],
                [
                    "in process, `--no-assets`",
                    str(r["files"]),
                    f"{r['inproc_no_assets_files_per_s']:.0f}",
                    f"{r['inproc_no_assets_cpu_ms_per_file']}",
                ],
            ],
        )
        out.append("")
    d = common.load_result("cli")
    if d:
        rows = [
            [f"`{r['command']}`", f"{r['best_ms']:.0f}", f"{r['median_ms']:.0f}", str(r["runs"])]
            for r in d["results"].values()
        ]
        rows.append(
            ["`python -c pass` (the interpreter alone)", f"{d['python_bare_ms']:.0f}", "", ""]
        )
        out += _md(["command", "best ms", "median ms", "runs"], rows)
    return out or ["(not run)"]


CAPACITY_LABEL = {
    "none": "no background (voice only)",
    "bap": "BackgroundAudioPlayer",
    "soundscape": "soundscape office.yaml",
    "soundscape-one-track": "soundscape office.yaml, one track",
}


def _capacity_rows(system: str) -> list[dict[str, Any]]:
    d = common.load_result("capacity")
    if not d:
        return []
    return [r for r in d["results"] if r.get("system") == system and "kept" in r]


def _capacity_summary() -> list[tuple[str, str, str, str, str]]:
    d = common.load_result("capacity")
    if not d:
        return []
    s = d["summary"]
    if "soundscape" not in s:
        return []

    def kept(system: str) -> str:
        x = s.get(system)
        if not x:
            return "–"
        fail = f", failed at {x['failed_at']}" if x.get("failed_at") else ""
        return f"{x['max_kept_n']} calls{fail}"

    def one(system: str) -> dict[str, Any] | None:
        rows = _capacity_rows(system)
        return rows[0] if rows else None

    out = [
        (
            "Calls through one worker that keep real time (this machine, everything on it)",
            "report",
            kept("soundscape"),
            kept("bap"),
            "n/a",
        )
    ]
    sc, bp, bare = one("soundscape"), one("bap"), one("none")
    if sc:
        out.append(
            (
                f"CPU per call, job process, N={sc['n']} (the voice-only agent: "
                f"{_f(bare['job_cpu_ms_per_call_s'] if bare else None, '{:.0f}')} ms)",
                "report",
                f"{sc['job_cpu_ms_per_call_s']:.0f} ms per call-s",
                f"{bp['job_cpu_ms_per_call_s']:.0f} ms per call-s" if bp else "–",
                "n/a",
            )
        )
    c = common.load_result("cluster")
    res = [r for r in (c or {}).get("results", []) if r.get("load_fnc") == "own" and "kept" in r]
    if res:
        r = res[0]
        ok = r["dispatched"] == r["heard"] == r["exited"] == r["n"]
        out.append(
            (
                "Two nodes + Redis + two workers: calls dispatched / heard their own scene / ended",
                "all",
                f"{r['dispatched']} / {r['heard']} / {r['exited']} of {r['n']}",
                "n/a",
                "yes" if ok else "no",
            )
        )
    return out


def _capacity_section() -> list[str]:
    d = common.load_result("capacity")
    if not d:
        return ["(not run: `python -m bench capacity`)"]
    c = d["criteria"]
    out = [
        f"One livekit-agents worker (`AgentServer`, one process per job) on {d['server']}; "
        f"a window of {d['window_s']:.0f} s after {d['warmup_s']:.0f} s of warm-up. A call "
        f"*kept real time* if each agent track the caller subscribed to delivered ≥ "
        f"{100 * c['received_min']:.0f} % of the window with no arrival gap over "
        f"{c['arrival_gap_max_ms']:.0f} ms, and the background's AudioSource in the job "
        f"played ≥ {100 * c['received_min']:.0f} % of it, never dry for more than "
        f"{c['sender_dry_max_ms']:.0f} ms (bench/lib/calls.py). CPU = utime + stime of each job "
        "process over the window; *cores* = CPU seconds per second; machine CPU = what "
        "livekit-agents' default load function would have reported.",
        "",
    ]
    rows = []
    for system in CAPACITY_LABEL:
        for r in _capacity_rows(system):
            pss = r["job_pss_mb"]
            rows.append(
                [
                    CAPACITY_LABEL[system],
                    str(r["n"]),
                    f"{r['kept']}/{r['n']}",
                    f"{r['job_cpu_ms_per_call_s']:.0f} (max {r['job_cpu_ms_max']:.0f})",
                    f"{pss.get('median', '–')} ({pss.get('min', '–')}–{pss.get('max', '–')})",
                    f"{r['all_jobs_cpu_share']:.2f}",
                    f"{r['worker_cpu_share']:.2f} / {r['worker_pss_mb']:.0f} MB",
                    f"{_total_pss(r):.0f}",
                    f"{r['server_cpu_share']:.2f}",
                    f"{r['callers_cpu_share']:.2f}",
                    f"{100 * r['machine_cpu']:.0f} %",
                    f"{r['exited']}/{r['n']} in {r['exit_s']:.1f} s",
                    str(r["loadavg"][0]),
                ]
            )
    out += _md(
        [
            "system",
            "N",
            "kept real time",
            "job CPU ms per call-s",
            "job PSS MB, median (min–max)",
            "all jobs, cores",
            "worker's own processes, cores / PSS",
            "PSS of all, MB",
            "livekit-server, cores",
            "callers, cores",
            "machine CPU",
            "job processes exited after hang-up",
            "load",
        ],
        rows,
    )
    out += [
        "",
        "Where each system stopped, and what an added call costs (job CPU at the largest N "
        "that kept real time; memory: the growth of *PSS of all* between the first and the "
        "last N that kept real time, per added call):",
        "",
    ]
    for k, v in d["summary"].items():
        rows_k = [r for r in _capacity_rows(k) if r["all_kept"]]
        extra = ""
        if rows_k:
            top = rows_k[-1]
            extra = f"; {top['job_cpu_ms_per_call_s']:.0f} ms CPU per call-s at N={top['n']}"
        if len(rows_k) >= 2:
            a, b = rows_k[0], rows_k[-1]
            per = (_total_pss(b) - _total_pss(a)) / (b["n"] - a["n"])
            extra += f", {per:.0f} MB PSS per added call"
        out.append(
            f"- {CAPACITY_LABEL.get(k, k)}: {v['max_kept_n']} calls kept real time "
            f"({v['stopped']}){extra}."
        )
    return out


def _total_pss(r: dict[str, Any]) -> float:
    """PSS of every process of the worker: its job processes and its own."""
    return float(r["job_pss_mb"].get("median", 0.0)) * r["n"] + float(r["worker_pss_mb"])


def _cluster_section() -> list[str]:
    d = common.load_result("cluster")
    if not d:
        return ["(not run: `python -m bench cluster`)"]
    if "skipped" in d:
        return [f"(skipped: {d['skipped']})"]
    rows = []
    for r in d["results"]:
        if "kept" not in r:
            rows.append([r.get("load_fnc", "?"), str(r["n"]), r.get("error", "?")] + [""] * 5)
            continue
        dl = r.get("dispatch_log", {})
        refused = sum(v.get("failed to send job request", 0) for v in dl.values())
        rows.append(
            [
                r["load_fnc"],
                str(r["n"]),
                f"{r['dispatched']}/{r['n']}" + (f" ({refused} refused)" if refused else ""),
                f"{r['heard']}/{r['n']}",
                f"{r['kept']}/{r['n']}",
                f"{r['exited']}/{r['n']} in {r['exit_s']:.1f} s",
                ", ".join(f"{k}: {v}" for k, v in sorted(r.get("jobs_by_worker", {}).items())),
                ", ".join(f"{k}: {v}" for k, v in sorted(r.get("rooms_by_node", {}).items())),
                str(r.get("worker_crossed_node", "–")),
            ]
        )
    return _md(
        [
            "workers' load_fnc",
            "calls",
            "dispatched",
            "heard own tone",
            "kept real time",
            "job processes exited",
            "jobs by worker",
            "rooms by node",
            "jobs on the other node's worker",
        ],
        rows,
    )


JOB_START_LABEL = {
    "none": "no background (voice only)",
    "bap": "BackgroundAudioPlayer",
    "soundscape-cold": "soundscape, cold (no prewarm, empty clip cache)",
    "soundscape-prewarmed": "soundscape, `prewarm()` in setup_fnc",
}


def _job_start_results() -> tuple[dict[str, Any], dict[str, dict[str, Any]]] | None:
    d = common.load_result("job")
    if not d:
        return None
    return d, {r["system"]: r for r in d["results"] if "error" not in r}


def _med(r: dict[str, Any] | None, key: str) -> float | None:
    return None if r is None else r[key].get("median")


def _job_start_summary() -> list[tuple[str, str, str, str, str]]:

    got = _job_start_results()
    if got is None or "soundscape-prewarmed" not in got[1]:
        return []
    d, res = got
    g = d["goals"]
    warm = res["soundscape-prewarmed"]
    cold, bap, none = res.get("soundscape-cold"), res.get("bap"), res.get("none")

    def ms(r: dict[str, Any] | None, key: str) -> str:
        v = "–" if r is None else common.median_range(r[key])
        return v if v == "–" else v + " ms"

    def met(v: float | None, goal: float) -> str:
        return "yes" if v is not None and v <= goal else "no"

    def blocked(r: dict[str, Any] | None) -> str:
        return "–" if r is None else str(r["blocked"]["in_jobs"])

    first, later = _med(warm, "first_thinking_ms"), _med(warm, "later_thinking_ms")
    quick = first is not None and later is not None
    quick = quick and first <= g["first_thinking_ms"] and first <= later + g["first_vs_later_ms"]  # type: ignore[operator]
    bap_first = "–"
    if bap is not None:
        missed = bap["onsets_missed"]
        cues = bap["first_thinking_ms"]["n"] + bap["later_thinking_ms"]["n"] + missed
        bap_first = ms(bap, "first_thinking_ms")
        if missed:
            # Its cue comes later than the state lasts: say so rather than show nothing.
            bap_first = ("" if bap_first == "–" else bap_first + "; ") + (
                f"{missed} of {cues} cues not heard before the 0.6 s state ended"
            )
    return [
        (
            f"Job start: `start()` alone, prewarmed (cold: {ms(cold, 'start_ms')})",
            f"≤ {g['start_ms']:.0f} ms",
            ms(warm, "start_ms"),
            ms(bap, "start_ms"),
            met(_med(warm, "start_ms"), g["start_ms"]),
        ),
        (
            f"Job start: caller joined → bed audible, prewarmed (cold: {ms(cold, 'bed_ms')}; "
            f"the voice-only agent's voice track: {ms(none, 'voice_subscribed_ms')})",
            f"≤ {g['bed_ms']:.0f} ms",
            ms(warm, "bed_ms"),
            ms(bap, "bed_ms"),
            met(_med(warm, "bed_ms"), g["bed_ms"]),
        ),
        (
            f'Job start: "event loop blocked" warnings in the calls\' job processes, prewarmed '
            f"(cold: {blocked(cold)}; voice only: {blocked(none)})",
            "0",
            blocked(warm),
            blocked(bap),
            "yes" if warm["blocked"]["in_jobs"] == 0 else "no",
        ),
        (
            f"First state change of a call, at the source, prewarmed "
            f"(later ones: {ms(warm, 'later_thinking_ms')})",
            f"≤ {g['first_thinking_ms']:.0f} ms, as quick as later ones",
            ms(warm, "first_thinking_ms"),
            bap_first,
            "yes" if quick else "no",
        ),
    ]


def _job_start_section() -> list[str]:

    got = _job_start_results()
    if got is None:
        return ["(not run: `python -m bench job`)"]
    d, _ = got
    g = d["goals"]
    out = [
        f"bench/parts/job.py: one livekit-agents worker per configuration (`AgentServer`, a "
        "process per job, one idle process set up by `setup_fnc` before the call comes, as "
        f"under `start`), {d['calls_per_config']} calls one after another, each a fresh room "
        "joined by a caller and a fresh job process, which runs a real `AgentSession` "
        f"(scripted LLM and TTS: {d['turns']} turns, each thinking 0.6 s). The bed is the "
        "built-in office ambience at gain 1.0; the thinking cue a 1 kHz tone, the same file "
        "and level for BackgroundAudioPlayer. Times are medians (min–max) in ms: "
        "*join* = the caller's `connect()` returned (negative *join → entry*: the job "
        "started first); *bed audible* = the first 10 ms block of the background track, at "
        "the caller, above -80 dBFS (voice only: its voice track's subscription), and "
        "how much of that came after the caller subscribed to the track (near 0: the track "
        "carried the bed from its first frame); "
        "*thinking* = the `thinking` event → the first 10 ms frame at the background's "
        "AudioSource output (read back in the job) with the cue at half its level or more; "
        "*not heard* = the state ended first. *Blocked* = livekit-agents' \"event loop "
        "blocked\" warnings logged by the calls' job processes.",
        "",
        f"Goals: `start()` ≤ {g['start_ms']:.0f} ms and join → bed ≤ {g['bed_ms']:.0f} ms "
        f'with prewarm; no "event loop blocked" warning; the first state change ≤ '
        f"{g['first_thinking_ms']:.0f} ms at the source, no more than "
        f"{g['first_vs_later_ms']:.0f} ms behind the later ones.",
        "",
    ]
    rows = []
    for r in d["results"]:
        label = JOB_START_LABEL.get(r["system"], r["system"])
        if "error" in r:
            rows.append([label, r["error"][:200]] + [""] * 11)
            continue
        bed = r["voice_subscribed_ms"] if r["system"] == "none" else r["bed_ms"]
        rows.append(
            [
                label,
                f"{r['calls_ok']}/{r['calls']}",
                common.median_range(r["join_to_entry_ms"]),
                common.median_range(r["entry_to_started_ms"]),
                common.median_range(r["start_ms"]),
                common.median_range(bed) + (" (voice)" if r["system"] == "none" else ""),
                common.median_range(r.get("bed_after_subscribed_ms") or {}),
                common.median_range(r["first_thinking_ms"]),
                common.median_range(r["later_thinking_ms"]),
                str(r["onsets_missed"]),
                str(r["blocked"]["in_jobs"]),
                common.median_range(r["setup_ms"]),
                str((r.get("loadavg") or ["–"])[0]),
            ]
        )
    out += _md(
        [
            "configuration",
            "calls",
            "join → entry",
            "entry → `start()` returned",
            "`start()`",
            "join → bed audible",
            "of which after the track's subscription",
            "first thinking",
            "later thinking",
            "cues not heard",
            "blocked",
            "setup_fnc",
            "load",
        ],
        rows,
    )
    said = [
        f"- {JOB_START_LABEL.get(r['system'], r['system'])}: `{r['blocked']['examples'][0]}`"
        for r in d["results"]
        if (r.get("blocked") or {}).get("examples")
    ]
    if said:
        out += ["", "What the job processes' loop monitor logged (the first of each):", ""]
        out += said
    return out


METHOD = """\
Everything is measured by `python -m bench all` in one run on one machine; each
configuration runs in a fresh process (`python -m bench.parts.<part> --worker`), so nothing is
shared between systems but the OS file cache. Both systems feed **real `rtc.AudioSource`
objects** (livekit's native queue and 10 ms ticker); the room is a stand-in that accepts
`publish_track` (no server, no network); the agent session is a stand-in that emits
`agent_state_changed` with livekit-agents' own event class, which is all either player
subscribes to.

- **Systems.** BackgroundAudioPlayer = `BackgroundAudioPlayer(ambient_sound=AudioConfig(
  OFFICE_AMBIENCE, volume=0.3), thinking_sound=AudioConfig(KEYBOARD_TYPING, volume=0.6))`
  (its basic example, levels as scenes/office.yaml). soundscape = `Soundscape(scene,
  seed=i)` with its default latency setting ({default}) unless a row names another
  preset. The floor =
  a bare `rtc.AudioSource` fed silence, one frame per frame period on the loop clock
  (one to two frames queued, so `capture_frame` never waits); the *blocking* floor pushes
  back to back into a full two-frame queue, each call waiting for room, which is how
  BackgroundAudioPlayer's mixer task feeds its source.
- **Schedule.** Every session: thinking 2 s, speaking 3 s, repeated; session i starts i/N
  of a 5 s cycle later, so the N sessions' state changes are spread evenly.
- **CPU.** All sessions start together; after a warm-up (2 s), process CPU time
  (`time.process_time`: all threads, the SDK's native ones included) over a fixed
  wall-clock window (8 s for N ≤ 10, 5 s above), divided by N × window. *Of which event
  loop* = `time.thread_time()` of the loop's thread over the same window; the rest is the
  SDK's native threads (bench/out/cpu.json has it by thread name).
- **Real time.** `capture_frame`/`clear_queue` of every source are wrapped (calls pass
  through unchanged) to count samples; a model of the native queue drains at 48 kHz, and a
  push that finds it empty for > 20 ms counts an underrun. *Delivered* = samples that
  the model says were played in the window (pushed, minus what a `clear_queue` removed,
  minus what was still queued at each end of the window) ÷ window × 48000. A session *kept real time* if it delivered ≥ 99 % with no underrun.
- **Threads.** `threading.active_count()` and the number of entries in /proc/self/task
  (OS threads, the SDK's native runtime included), the maximum sampled once a second.
- **Latency.** See the module docstring of bench/parts/latency.py: a 1 kHz tone cue instead of
  typing (same gain, scene otherwise office.yaml, cue `fade_out: 0` like
  BackgroundAudioPlayer's cut), 5 sessions × 11 cycles of thinking 1.5 s / speaking 1.5 s
  (55 onsets and at least 50 stops per system; the stagger cuts a few last stops). The
  track's own output is read back with an
  `rtc.AudioStream` on a local track of the same source: it yields the exact 10 ms frames
  the source hands to WebRTC, moments after each tick; each sample gets its frame's arrival
  time + its offset in the frame. Onset = the tone's level first passes 10 % of its plateau
  after the `thinking` event; stop = it first falls under 10 % after `speaking`. Latency =
  that time − the time the event was emitted.
- **`play()` latency.** See the module docstring of bench/parts/play.py: office ambience,
  and every 1.5 s per session (5 sessions × 12 rounds) the application plays a 0.5 s 1 kHz
  tone, alternately as a WAV file and as an async iterator of 48 kHz frames each yielded when
  due; onset = the tone passes 10 % of its plateau, measured from the `play()` call (file)
  or from the stream's first frame; a hole = 10 ms inside a stream under half the plateau.
- **Memory.** RSS/PSS from /proc/self/smaps_rollup after each step of added sessions has
  played for a second; for sharing, worker processes run at once and the parent reads
  their /proc/PID/smaps_rollup; the cache is a fresh directory filled before the workers
  start.
- **Render / lint / CLI.** See bench/parts/render.py, bench/parts/lint.py, bench/parts/cli.py.
"""


CLUSTER_INTRO = """\
bench/parts/cluster.py: Debian's redis-server on 127.0.0.1 (no persistence), two livekit-server
processes with `redis: {address: ...}` in their config, one worker connected to each node.
Callers join alternately through node A and node B, 1.5 s apart; each room's job plays its
own tone, and each caller checks with a Goertzel detector that it hears its tone at its
level and no other call's. *load_fnc* `default` is livekit-agents' own (the machine's CPU:
both workers report the same figure here); `own` reports each worker's own process tree,
as each would on a machine of its own. LiveKit (not soundscape) places rooms and picks
the worker: the node with the most headroom under its `target_load` (0.7) wins.
"""


ONE_TRACK_LABEL = {
    "none": "no background (the voice on RoomIO's track)",
    "bap": "BackgroundAudioPlayer",
    "soundscape": "soundscape office.yaml, own track",
    "soundscape-one-track": "soundscape office.yaml, one track",
}
VOICE_LABEL = {"roomio": "RoomIO `_ParticipantAudioOutput`", "one-track": "`OneTrackOutput`"}


def _one_track_summary() -> list[tuple[str, str, str, str, str]]:
    d = common.load_result("one_track")
    if not d:
        return []
    rows: list[tuple[str, str, str, str, str]] = []
    goal = d["goals"]
    s = (d.get("job") or {}).get("summary") or {}
    one, bap = s.get("soundscape-one-track") or {}, s.get("bap") or {}
    if one.get("over_none") is not None:
        rows.append(
            (
                "Job CPU over no background, N=1 (one-track)",
                f"≤ +{goal['cpu_over_none_ms']:.0f} ms per session-s",
                f"{one['over_none']:+.1f} ms ({one['median']:.0f} vs {s['none']['median']:.0f})",
                _f(bap.get("over_none"), "{:+.1f} ms"),
                "yes" if one["over_none"] <= goal["cpu_over_none_ms"] else "no",
            )
        )
    v = d.get("voice") or {}
    if "outputs" in v:
        o, r = v["outputs"]["one-track"]["burst"], v["outputs"]["roomio"]["burst"]
        over = v["latency_over_roomio_ms"]["burst"]
        if over is not None:
            rows.append(
                (
                    "Voice: first frame → audible at the source, one-track vs RoomIO (median)",
                    f"≤ +{goal['latency_over_roomio_ms']:.0f} ms",
                    f"{o['latency_ms']['median']:.1f} ms ({over:+.1f})",
                    f"n/a (RoomIO {r['latency_ms']['median']:.1f} ms)",
                    "yes" if over <= goal["latency_over_roomio_ms"] else "no",
                )
            )
    return rows


def _dbfs(rms: float | None) -> str:
    import math

    return "silent" if not rms else f"{20 * math.log10(rms):.0f} dBFS"


def _one_track_section() -> list[str]:
    d = common.load_result("one_track")
    if not d:
        return ["(not run: `python -m bench one-track`)"]
    out = [
        "Soundscape as the session's audio output (`start(..., one_track=True)`): the voice "
        "and the scene on one track. bench/parts/one_track.py says how each figure is taken.",
        "",
    ]
    job = d.get("job") or {}
    if job.get("rows"):
        out += [
            f"**Job CPU**, one call (N=1) through a real worker and livekit-server, as in "
            f"section 5: {job['window_s']:.0f} s window after {job['warmup_s']:.0f} s, each "
            "configuration in a fresh worker of its own, "
            + (
                "their calls at the same time (explicit dispatch), so all meet the same load:"
                if job.get("together")
                else "one after another:"
            ),
            "",
        ]
        rows = []
        for r in job["rows"]:
            if "error" in r:
                name = ONE_TRACK_LABEL.get(r["system"], r["system"])
                rows.append([str(r["repeat"] + 1), name, "error"] + [""] * 5)
                continue
            checks = r.get("checks")
            rows.append(
                [
                    str(r["repeat"] + 1),
                    ONE_TRACK_LABEL.get(r["system"], r["system"]),
                    f"{r['job_cpu_ms_per_s']:.1f}",
                    "yes" if r["kept"] else "no",
                    ", ".join(r.get("agent_tracks") or []),
                    _dbfs(r.get("between_words_rms")),
                    "–" if checks is None else ("all" if all(checks.values()) else "FAILED"),
                    str(r["loadavg_before"][0]),
                ]
            )
        out += _md(
            [
                "round",
                "configuration",
                "job CPU ms per session-s",
                "kept real time",
                "agent's audio tracks at the caller",
                "level between words at the caller",
                "one-track checks",
                "load before",
            ],
            rows,
        )
        out += ["", "Median per configuration, and its difference to no background:", ""]
        for k, v in job["summary"].items():
            over = "" if v["over_none"] is None else f" ({v['over_none']:+.1f} ms)"
            out.append(f"- {ONE_TRACK_LABEL.get(k, k)}: {v['median']} ms/s{over}.")
        out.append("")
    v = d.get("voice") or {}
    if "outputs" in v:
        out += [
            f"**Voice at the source**, both outputs side by side in one process, "
            f"{v['speeches']} speeches of each kind per output, alternating: latency from the "
            "first frame handed to the output to the first sample audible at its source "
            "(and at a caller subscribed through the local livekit-server); "
            "position error = the playback_position the output reported − the speech heard "
            "at the source (≥ half level), at a `clear_buffer()` 0.5–1.4 s into a 2 s burst "
            "(one-track fades out over 5 ms from the sample it reports: −2.5 ms by "
            "construction), and at the end of a speech streamed in real time:",
            "",
        ]
        rows = []
        for name in ("roomio", "one-track"):
            o = v["outputs"][name]
            for mode, what in (("burst", "2 s burst, cut"), ("stream", "0.6 s real-time")):
                m = o[mode]
                lat, err = m["latency_ms"], m["position_error_ms"]
                rows.append(
                    [
                        VOICE_LABEL[name],
                        what,
                        common.median_range(lat) if lat.get("n") else "–",
                        _f(lat.get("max"), "{:.1f}"),
                        common.median_range(o["caller"][mode]["latency_ms"])
                        if "caller" in o
                        else "–",
                        (
                            f"{err['median']:+.1f} ({err['min']:+.1f} … {err['max']:+.1f})"
                            if err.get("n")
                            else "–"
                        ),
                        f"{m['split']}/{lat.get('n', 0)}",
                        _f((m.get("lost_ms") or {}).get("max"), "{:.1f}"),
                        str(m["missed"]),
                    ]
                )
        out += _md(
            [
                "output",
                "speech",
                "latency at the source ms, median (min–max)",
                "max",
                "at the caller (SFU, Opus, jitter buffer)",
                "position error ms, median (min … max)",
                "heard in pieces (a gap or a loss)",
                "speech lost, max ms",
                "missed",
            ],
            rows,
        )
        out += [
            "",
            f"Load at the end of the voice run: {v.get('loadavg_end')}; one-track's median "
            f"latency over RoomIO's: {v['latency_over_roomio_ms']} ms.",
        ]
    return out


def _default_options() -> str:
    from soundscape.runtime import LiveOptions

    o = LiveOptions()
    return (
        f"{o.frame * 1000:.0f} ms frames, {o.ahead * 1000:.0f} ms queued, "
        f"{'rewind on events' if o.rewind else 'no rewind'}"
    )


def render_doc() -> str:
    quick = any((d or {}).get("quick") for d in map(common.load_result, ("cpu", "latency")))
    lines = [
        "# Performance",
        "",
        "<!-- Generated by `python -m bench all` (bench/lib/report.py); the analysis section is "
        "bench/analysis.md. Do not edit by hand. -->",
        "",
        "soundscape's live runtime next to livekit-agents' BackgroundAudioPlayer, measured in",
        "the same run on the same machine. Reproduce with `.venv/bin/python -m bench all`",
        "(about 35 minutes at most, of which capacity up to 9, one-track 5, job start 4 and "
        "cluster 2; `--quick` for a nine-minute smoke pass, `python -m bench cpu` etc. for one "
        "part, then "
        "`python -m bench report`).",
        "",
    ]
    if quick:
        lines += ["> **These figures come from a `--quick` run (short windows, small N).**", ""]
    lines += ["## Summary", ""]
    lines += _md(
        ["target", "goal", "soundscape", "BackgroundAudioPlayer", "met"],
        [list(r) for r in summary()],
    )
    lines += [
        "",
        "## Machine and versions",
        "",
        *_machine_section(),
        "",
        "## Method",
        "",
        METHOD.replace("{default}", _default_options()),
        "## 1. CPU per session-second and real time",
        "",
        *_cpu_section(),
        "",
        "## 2. Cue latency at the AudioSource output",
        "",
        *_latency_section(),
        "",
        "`play()` from the application, at the same output (bench/parts/play.py): a 0.5 s file,",
        "and the same tone as a stream whose 20 ms frames come in real time:",
        "",
        *_play_section(),
        "",
        "## 3. Memory",
        "",
        *_memory_section(),
        "",
        "## 4. Offline render, lint, CLI start",
        "",
        *_speed_section(),
        "",
        "## 5. Capacity: concurrent calls through one worker",
        "",
        *_capacity_section(),
        "",
        "## 6. Scale-out: two LiveKit nodes on one Redis, two workers",
        "",
        CLUSTER_INTRO,
        *_cluster_section(),
        "",
        "## 7. Jobs that start fast",
        "",
        *_job_start_section(),
        "",
        "## 8. One-track mode (issue 15)",
        "",
        *_one_track_section(),
        "",
    ]
    if ANALYSIS.exists():
        lines += [ANALYSIS.read_text().rstrip(), ""]
    return "\n".join(lines)


def write(path: Path = DOC) -> Path:
    path.write_text(render_doc())
    return path
