"""Signal cleaning: masking, gap filling, Butterworth and One Euro filters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fk import side_view
from scipy.ndimage import maximum_filter1d

from romcam.kinematics.filters import (
    FilterSettings,
    OneEuroFilter,
    butterworth_zero_lag,
    clean_trajectories,
    fill_short_gaps,
    mask_low_visibility,
    median_exceeds,
)

FPS = 30.0


def _t(n: int, fps: float = FPS) -> np.ndarray:
    return np.arange(n) / fps


def test_mask_low_visibility_sets_nan_only_below_threshold() -> None:
    xy = np.ones((2, 3, 2))
    vis = np.array([[0.49, 0.5, 0.9], [np.nan, 0.1, 1.0]])
    out = mask_low_visibility(xy, vis, 0.5)
    assert np.isnan(out[0, 0]).all() and np.isfinite(out[0, 1]).all() and np.isfinite(out[0, 2]).all()
    assert np.isnan(out[1, 0]).all() and np.isnan(out[1, 1]).all()


def test_short_gaps_filled_linearly_long_gaps_and_edges_kept() -> None:
    t = _t(40)
    x = 2.0 * t + 1.0
    x[[0, 1]] = np.nan  # leading gap stays
    x[5:13] = np.nan  # 8 missing frames = 0.267 s: filled
    x[20:31] = np.nan  # 11 missing frames = 0.367 s: kept
    out = fill_short_gaps(x, t, max_gap_s=0.3)
    np.testing.assert_allclose(out[5:13], 2.0 * t[5:13] + 1.0)
    assert np.isnan(out[20:31]).all() and np.isnan(out[:2]).all()


def test_butterworth_passes_slow_motion_and_removes_jitter_without_lag() -> None:
    t = _t(300)
    slow = 30.0 * np.sin(2 * np.pi * 0.5 * t)
    jitter = 3.0 * np.sin(2 * np.pi * 12.0 * t)
    out = butterworth_zero_lag(slow + jitter, t, cutoff_hz=6.0)
    core = slice(30, -30)
    np.testing.assert_allclose(out[core], slow[core], atol=0.35)
    bump = 40.0 * np.exp(-0.5 * ((t - 5.0) / 0.4) ** 2)
    assert np.argmax(butterworth_zero_lag(bump, t, cutoff_hz=6.0)) == np.argmax(bump)  # zero lag


def test_butterworth_keeps_nan_and_filters_each_run() -> None:
    t = _t(200)
    x = np.sin(2 * np.pi * 1.0 * t)
    x[90:110] = np.nan
    out = butterworth_zero_lag(x, t, cutoff_hz=6.0)
    assert np.isnan(out[90:110]).all() and np.isfinite(out[:90]).all() and np.isfinite(out[110:]).all()


def _gappy_columns(rng: np.random.Generator, n: int, columns: int) -> np.ndarray:
    """(n, columns) smooth noisy signals with gaps of 1 to 40 samples at random places (some runs too short for
    the filter's padding)."""
    t = _t(n)
    x = np.stack([np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t) * 50 + rng.normal(0, 2, n) for _ in range(columns)], 1)
    for _ in range(columns * 6):
        start = int(rng.integers(0, n))
        x[start : start + int(rng.integers(1, 40)), int(rng.integers(0, columns))] = np.nan
    return x


@pytest.mark.parametrize("block_samples", [1 << 20, 200])
def test_butterworth_equals_scipy_sosfiltfilt_on_every_run(block_samples: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs of all columns are filtered as rows of a few blocks (or of many small ones); each must equal
    scipy's own forward-backward filter (its default odd padding, 15 samples for two sections) applied to that run
    alone."""
    from scipy.signal import butter, sosfiltfilt

    from romcam.kinematics import filters

    monkeypatch.setattr(filters, "BLOCK_SAMPLES", block_samples)
    rng = np.random.default_rng(3)
    x = _gappy_columns(rng, 600, 8)
    out = butterworth_zero_lag(x, _t(600), cutoff_hz=6.0)
    sos = butter(4, 6.0, fs=FPS, output="sos")
    checked = 0
    for col in range(x.shape[1]):
        finite = np.isfinite(x[:, col])
        edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(int), [0]])))
        for start, stop in zip(edges[::2], edges[1::2], strict=True):
            run = x[start:stop, col]
            expected = sosfiltfilt(sos, run) if len(run) > 15 else run
            np.testing.assert_allclose(out[start:stop, col], expected, atol=1e-9)
            checked += len(run) > 15
    assert checked > 20 and np.array_equal(np.isfinite(out), np.isfinite(x))


def test_cleaning_reads_arrays_of_any_memory_layout() -> None:
    """A column subset of landmarks is not C-contiguous; filling and filtering it must still change it."""
    rng = np.random.default_rng(4)
    x = _gappy_columns(rng, 300, 6).reshape(300, 3, 2)  # (T, K, 2) like landmarks
    fortran = np.asfortranarray(x)
    for clean in (
        lambda v: fill_short_gaps(v, _t(300), 0.3),
        lambda v: butterworth_zero_lag(v, _t(300), 6.0),
    ):
        contiguous = clean(x)
        assert not np.allclose(contiguous, x, equal_nan=True)
        np.testing.assert_array_equal(clean(fortran), contiguous)


def test_median_exceeds_matches_nanmedian() -> None:
    rng = np.random.default_rng(5)
    for points in (4, 5, 17, 33):
        values = rng.normal(size=(5000, points))
        values[rng.random(values.shape) < 0.3] = np.nan
        limit = rng.normal(size=5000) * 0.5
        limit[::97] = np.nan
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the all-NaN rows
            expected = np.nanmedian(values, axis=1) > limit
        np.testing.assert_array_equal(median_exceeds(values, limit), expected)


def test_one_euro_converges_on_a_constant_and_lags_a_ramp_less_with_beta() -> None:
    t = _t(120)
    steady = OneEuroFilter(1.0, 0.0)
    out = [steady.step(np.array([5.0 + (0.5 if i % 2 else -0.5)]), ti) for i, ti in enumerate(t)]
    assert abs(out[-1][0] - 5.0) < 0.3
    ramp = 100.0 * t
    lag = {}
    for beta in (0.0, 0.5):
        f = OneEuroFilter(1.0, beta)
        lag[beta] = ramp[-1] - [f.step(np.array([r]), ti) for r, ti in zip(ramp, t, strict=True)][-1][0]
    assert 0 < lag[0.5] < lag[0.0]


def test_one_euro_is_causal() -> None:
    t = _t(60)
    x = np.zeros(60)
    x[40:] = 10.0
    f = OneEuroFilter(1.0, 0.0)
    out = np.array([f.step(np.array([v]), ti)[0] for v, ti in zip(x, t, strict=True)])
    assert np.all(out[:40] == 0.0) and out[40] > 0


def test_clean_trajectories_runs_every_kind() -> None:
    t = _t(60)
    xy = np.random.default_rng(0).normal(size=(60, 33, 2)) + 100
    vis = np.full((60, 33), 0.9)
    for kind in ("butterworth", "one_euro", "none"):
        out = clean_trajectories(xy, vis, t, FilterSettings(kind=kind))
        assert out.shape == xy.shape and np.isfinite(out).all()


def test_filter_settings_reject_wrong_values() -> None:
    with pytest.raises(ValueError, match="valid filters: butterworth, one_euro, none"):
        FilterSettings(kind="kalman")
    with pytest.raises(ValueError):
        FilterSettings(min_visibility=1.5)


def test_offline_cleaning_uses_only_the_skeleton() -> None:
    """Eyes, mouth and hand points take no part in the cleaning, the angles or the flags: a sequence with them
    missing and one with them present give the same result, and the cleaned landmarks leave them NaN. (The
    left/right repair, off here, does use the hand points to tell the arms apart.)"""
    from romcam.landmarks import SKELETON_LANDMARKS
    from romcam.pipeline.offline import clean_offline
    from romcam.types import PoseSequence

    rng = np.random.default_rng(6)
    n = 240
    knee = 45 + 40 * np.sin(2 * np.pi * 0.5 * _t(n))
    xy = np.stack([side_view(1, knee_flexion=(k, 0.6 * k), hip_flexion=(k / 2, 0.0)) for k in knee])
    xy += rng.normal(0, 1.5, xy.shape)
    others = [k for k in range(xy.shape[1]) if k not in SKELETON_LANDMARKS]
    xy[:, others] = xy[:, [0]] + rng.normal(0, 3, (n, len(others), 2))  # around the nose
    visibility = np.where(rng.random(xy.shape[:2]) < 0.05, 0.1, 0.9)
    world = np.zeros((n, xy.shape[1], 3))
    results = []
    for points in (xy, np.where(np.isin(np.arange(xy.shape[1]), others)[None, :, None], np.nan, xy)):
        sequence = PoseSequence(points, world, visibility, _t(n), 1280, 720)
        results.append(clean_offline(sequence, FilterSettings(), repair_left_right=False))
    first, second = results
    assert np.isfinite(first.angles["left_knee_flexion"]).sum() > 200
    for name, values in first.angles.items():
        np.testing.assert_array_equal(values, second.angles[name])
        for code, mask in first.flags[name].items():
            np.testing.assert_array_equal(mask, second.flags[name][code])
    assert np.isnan(first.xy_px[:, others]).all() and np.isfinite(first.xy_px[:, list(SKELETON_LANDMARKS)]).any()


@pytest.mark.parametrize("half", [0, 1, 2, 3, 4, 7, 12])
def test_running_range_is_the_running_maximum_minus_minimum(half: int) -> None:
    """Doubling spans give exactly what scipy's maximum and minimum filters give (ends repeated)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    from romcam.kinematics.filters import running_range

    rng = np.random.default_rng(half)
    for shape in [(1, 3), (5,), (40, 4), (301, 2, 3)]:
        v = rng.normal(0, 10, shape)
        size = 2 * half + 1
        expected = maximum_filter1d(v, size, axis=0, mode="nearest") - minimum_filter1d(v, size, axis=0, mode="nearest")
        np.testing.assert_array_equal(running_range(v, half), expected)


def test_gaps_bridged_for_the_running_medians_as_np_interp_would() -> None:
    """Every column's missing samples, inside and at the ends, are interpolated as ``np.interp`` does column by
    column (ends held); a column missing throughout stays missing."""
    from romcam.kinematics.filters import _filled

    rng = np.random.default_rng(11)
    for _ in range(50):
        n, c = int(rng.integers(1, 200)), int(rng.integers(1, 6))
        v = np.cumsum(rng.normal(0, 1, (n, c)), axis=0)
        v[rng.random((n, c)) < rng.random() * 0.6] = np.nan
        v[:, 0] = np.nan if rng.random() < 0.3 else v[:, 0]
        expected = v.copy()
        rows = np.arange(n)
        for k in range(c):
            kept = np.isfinite(v[:, k])
            if kept.any():
                expected[~kept, k] = np.interp(rows[~kept], rows[kept], v[kept, k])
        np.testing.assert_array_equal(_filled(v), expected)
        for reach in (1, 3):  # within reach of a valid sample as above; further inside a gap left missing
            near = _filled(v, reach)
            finite = np.isfinite(v).astype(float)
            seen = maximum_filter1d(finite, 2 * reach + 1, axis=0, mode="constant") > 0
            np.testing.assert_array_equal(near[seen], expected[seen])
            deep = ~seen
            deep[:reach] = deep[n - reach :] = False  # an end gap's outer samples may be held as well
            assert np.isnan(near[deep]).all()


@pytest.mark.parametrize("width", [1, 3, 5, 7, 9, 11, 13, 15])
def test_median_network_selects_the_middle_of_every_0_1_input(width: int) -> None:
    """A comparator network selects the k-th value of every input iff it does so for every input of 0s and 1s
    (Knuth, TAOCP vol. 3, 5.3.4): all 2**width of them."""
    from romcam.kinematics.filters import middle_value

    bits = ((np.arange(1 << width)[None, :] >> np.arange(width)[:, None]) & 1).astype(float)
    np.testing.assert_array_equal(middle_value(bits), np.sort(bits, axis=0)[width // 2])


@pytest.mark.parametrize("width", [1, 7, 13, 15, 17, 25])
def test_middle_value_is_the_median(width: int) -> None:
    """Networks (up to 15 samples) and sorting (longer windows) give ``np.median`` of real values, ties too."""
    from romcam.kinematics.filters import middle_value

    rng = np.random.default_rng(width)
    values = rng.normal(0, 10, (width, 500))
    values[:, :100] = np.round(values[:, :100] / 10)  # many ties
    np.testing.assert_array_equal(middle_value(values.copy()), np.median(values, axis=0))


@pytest.mark.parametrize("half", [1, 3, 6, 8])
def test_hampel_equals_its_definition_sample_by_sample(half: int) -> None:
    """Every finite sample judged against the median and MAD of its own window of the interpolated series (ends
    repeated), computed one window at a time; halves on both sides of the network's limit."""
    from romcam.kinematics.filters import hampel

    rng = np.random.default_rng(half)
    for _ in range(20):
        n, c = int(rng.integers(3, 150)), int(rng.integers(1, 4))
        v = np.cumsum(rng.normal(0, 1, (n, c)) * rng.choice([1.0, 25.0], (n, c), p=[0.9, 0.1]), axis=0)
        v[rng.random((n, c)) < rng.random() * 0.7] = np.nan
        floor = float(rng.choice([0.5, 2.0, 10.0]))
        expected = np.zeros(v.shape, dtype=bool)
        rows = np.arange(n)
        for k in range(c):
            kept = np.isfinite(v[:, k])
            if not kept.any():
                continue
            filled = np.interp(rows, rows[kept], v[kept, k])
            for i in np.flatnonzero(kept):
                window = filled[np.clip(np.arange(i - half, i + half + 1), 0, n - 1)]
                median = np.median(window)
                mad = 1.4826 * np.median(np.abs(window - median))
                departure = abs(filled[i] - median)
                expected[i, k] = departure > 3.0 * mad and departure > floor
        np.testing.assert_array_equal(hampel(v, half, floor), expected)


def test_nonzero_2d_is_np_nonzero() -> None:
    from romcam.kinematics.filters import nonzero_2d

    mask = np.random.default_rng(2).random((97, 13)) < 0.2
    for got, want in zip(nonzero_2d(mask), np.nonzero(mask), strict=True):
        np.testing.assert_array_equal(got, want)
