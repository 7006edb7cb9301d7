"""Signal cleaning: masking, gap filling, Butterworth and One Euro filters."""

from __future__ import annotations

import numpy as np
import pytest

from romcam.kinematics.filters import (
    FilterSettings,
    OneEuroFilter,
    butterworth_zero_lag,
    clean_trajectories,
    fill_short_gaps,
    mask_low_visibility,
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
