"""Our own sound library: every clip decodes, sounds as promised, and is reproducible."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from soundscape.audio import decode_file
from soundscape.scene.sources import builtin_catalog, resources_dir

ROOT = Path(__file__).resolve().parents[2]
ONESHOTS = ["chime", "success", "error", "notification", "thinking-pulse", "phone-ring"]
BEDS = ["room-tone", "pink-noise", "brown-noise"]
RATE = 48_000


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_resources", ROOT / "scripts/make_resources.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_resources"] = mod  # dataclasses look the module up by name
    spec.loader.exec_module(mod)
    return mod


def _load(name: str) -> np.ndarray:
    return decode_file(builtin_catalog()[name], RATE, 1)[:, 0].astype(np.float64)


def _db(x: float) -> float:
    return 20 * np.log10(x)


def _band_db(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    return 10 * np.log10(spec[(f >= lo) & (f < hi)].sum())


def test_library_names_are_the_fixed_set_and_resolve_as_builtins() -> None:
    assert sorted(p.stem for p in resources_dir().glob("*.flac")) == sorted(ONESHOTS + BEDS)
    cat = builtin_catalog()
    for name in ONESHOTS + BEDS:
        assert cat[name] == resources_dir() / f"{name}.flac"


@pytest.mark.parametrize("name", ONESHOTS)
def test_oneshot_level_length_and_clean_edges(name: str) -> None:
    x = _load(name)
    assert 0.3 <= len(x) / RATE <= 4.0
    assert _db(np.max(np.abs(x))) == pytest.approx(-6.0, abs=0.2)
    # Starts and ends on digital silence…
    assert abs(x[0]) <= 2 / 32768 and abs(x[-1]) <= 2 / 32768
    # …fades in rather than jumping: the first 0.5 ms stays under a quarter of the peak (a
    # tone switched on at once would pass its crest within 0.5 ms at any pitch above 500 Hz,
    # and reach 86% of it at 330 Hz)…
    peak = np.max(np.abs(x))
    assert np.max(np.abs(x[: RATE // 2000])) < 0.25 * peak
    # …with no step at either edge larger than the clip's own ordinary steps…
    d = np.abs(np.diff(x))
    ordinary = np.quantile(d, 0.999)
    assert d[: RATE // 1000].max() <= ordinary
    assert d[-RATE // 1000 :].max() <= ordinary
    # …and a tail that has died away: the last 10 ms is at least 40 dB below the peak.
    edge = RATE // 100
    assert _db(np.sqrt(np.mean(x[-edge:] ** 2)) + 1e-12) < _db(np.max(np.abs(x))) - 40


@pytest.mark.parametrize(("name", "freqs"), [("chime", [1046.5]), ("phone-ring", [400, 450])])
def test_oneshot_pitch(name: str, freqs: list[float]) -> None:
    x = _load(name)
    spec = np.abs(np.fft.rfft(x, 8 * len(x)))
    f = np.fft.rfftfreq(8 * len(x), 1 / RATE)
    top = sorted(f[i] for i in _local_peaks(spec, len(freqs)))
    assert top == pytest.approx(freqs, abs=2.0)


def _local_peaks(spec: np.ndarray, n: int) -> list[int]:
    is_peak = (spec[1:-1] > spec[:-2]) & (spec[1:-1] >= spec[2:])
    idx = np.nonzero(is_peak)[0] + 1
    return list(idx[np.argsort(spec[idx])[::-1][:n]])


@pytest.mark.parametrize("name", BEDS)
def test_bed_length_level_and_seamless_loop(name: str) -> None:
    x = _load(name)
    assert 20.0 <= len(x) / RATE <= 30.0
    rms = _db(np.sqrt(np.mean(x**2)))
    assert -30.0 <= rms <= -24.0
    assert _db(np.max(np.abs(x))) < -6.0
    # The jump from the last sample back to the first is no bigger than the steps inside.
    d = np.abs(np.diff(x))
    assert abs(x[0] - x[-1]) <= np.quantile(d, 0.999)
    # Nor does the level change across the seam: 250 ms either side agree within 3 dB.
    q = RATE // 4
    before, after = x[-q:], x[:q]
    assert _db(np.sqrt(np.mean(before**2))) == pytest.approx(
        _db(np.sqrt(np.mean(after**2))), abs=3.0
    )


def test_pink_is_flat_per_octave_and_brown_falls_3db_per_octave() -> None:
    pink, brown = _load("pink-noise"), _load("brown-noise")
    # Pink: equal energy per octave.
    assert _band_db(pink, 200, 400) == pytest.approx(_band_db(pink, 1600, 3200), abs=1.5)
    # Brown (amplitude ∝ 1/f): energy per octave falls 3 dB each octave, 9 dB over three.
    drop = _band_db(brown, 200, 400) - _band_db(brown, 1600, 3200)
    assert drop == pytest.approx(9.0, abs=1.5)
    # Both are high-passed: 1–10 Hz (3.3 octaves) holds far less than one audible octave,
    # where without the high-pass it would hold more (pink) or much more (brown).
    for x in (pink, brown):
        assert _band_db(x, 1, 10) < _band_db(x, 100, 200) - 12


def test_notice_covers_every_clip_and_the_licence() -> None:
    text = (resources_dir() / "NOTICE").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in text
    assert "scripts/make_resources.py" in text
    for name in ONESHOTS + BEDS:
        assert f"\n{name} " in text


def test_regenerating_gives_identical_samples(tmp_path: Path) -> None:
    mod = _script()
    written = mod.build(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{n}.flac" for n in ONESHOTS + BEDS)
    for path in written:
        fresh = decode_file(path, RATE, 1)
        committed = decode_file(resources_dir() / path.name, RATE, 1)
        assert np.array_equal(fresh, committed), path.name
    assert (tmp_path / "NOTICE").read_text() == (resources_dir() / "NOTICE").read_text()
