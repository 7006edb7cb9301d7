"""Cleaning landmark trajectories: mask, fill short gaps, smooth.

Offline: zero-lag 4th-order Butterworth at 6 Hz (Winter). Live: the causal One Euro filter
(Casiez 2012). Every function works along axis 0 (time) and keeps NaN where data is missing.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import butter, sosfilt, sosfilt_zi

from romcam.thresholds import MAX_GAP_S, MIN_VISIBILITY, SCENE_CUT_TRUNK_LENGTHS


@dataclass(frozen=True)
class FilterSettings:
    """How trajectories are cleaned; recorded in every output.

    kind : "butterworth" (zero lag, offline), "one_euro" (causal, live) or "none".
    """

    kind: str = "butterworth"
    min_visibility: float = MIN_VISIBILITY
    max_gap_s: float = MAX_GAP_S
    cutoff_hz: float = 6.0
    order: int = 4
    one_euro_min_cutoff_hz: float = 1.0
    one_euro_beta: float = 0.01  # Hz per px/s: keeps a 1 s squat peak within 1 deg (tests/test_exercise_rules.py)
    one_euro_d_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FILTER_KINDS:
            raise ValueError(f"unknown filter {self.kind!r}; valid filters: {', '.join(FILTER_KINDS)}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ValueError(f"min_visibility must be within 0..1, got {self.min_visibility}")
        if self.max_gap_s < 0 or self.cutoff_hz <= 0 or self.order < 1:
            raise ValueError("max_gap_s must be >= 0, cutoff_hz > 0 and order >= 1")


FILTER_KINDS = ("butterworth", "one_euro", "none")


def mask_low_visibility(xy_px: np.ndarray, visibility: np.ndarray, min_visibility: float) -> np.ndarray:
    """Copy of ``xy_px`` (T, K, 2) with NaN where ``visibility`` (T, K) is below ``min_visibility``."""
    with np.errstate(invalid="ignore"):
        hidden = ~(visibility >= min_visibility)
    out = np.array(xy_px, dtype=float)
    out[hidden] = np.nan
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs of True in a 1D boolean array."""
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def fill_short_gaps(values: np.ndarray, t_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate interior NaN gaps whose duration is at most ``max_gap_s``.

    The duration of a gap is the time between the valid samples on either side minus one sample
    interval, so a single missing frame at 30 fps lasts 1/30 s. Leading and trailing gaps stay NaN.
    ``values`` has time on axis 0; every other position is filled independently.
    """
    out = np.array(values, dtype=float)
    flat = out.reshape(out.shape[0], -1)
    for col in range(flat.shape[1]):
        series = flat[:, col]
        valid = np.isfinite(series)
        for start, stop in _runs(~valid):
            if start == 0 or stop == len(series):
                continue
            gap_s = t_s[stop] - t_s[start - 1] - (t_s[start] - t_s[start - 1])
            if gap_s <= max_gap_s + 1e-9:
                series[start:stop] = np.interp(t_s[start:stop], t_s[[start - 1, stop]], series[[start - 1, stop]])
    return out


def butterworth_zero_lag(values: np.ndarray, t_s: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-lag low-pass: forward-backward Butterworth (``sosfiltfilt``) on each run of valid samples.

    The sampling rate is ``1 / median(diff(t_s))``. ``order`` is the order of the design; the
    forward-backward pass doubles the effective order and squares the gain. Runs too short for the
    filter's padding are left as they are; NaN stays NaN.
    """
    out = np.array(values, dtype=float)
    if out.shape[0] < 2:
        return out
    fs_hz = 1.0 / float(np.median(np.diff(t_s)))
    if cutoff_hz >= fs_hz / 2:
        return out
    sos = butter(order, cutoff_hz, btype="low", fs=fs_hz, output="sos")
    pad = 3 * (2 * len(sos) + 1)
    flat = out.reshape(out.shape[0], -1)
    finite = np.isfinite(flat)
    zi = sosfilt_zi(sos)[:, None, :]
    for cols in _same_gaps(finite):  # columns missing the same samples are filtered together
        for start, stop in _runs(finite[:, cols[0]]):
            if stop - start > pad:
                flat[start:stop, cols] = _forward_backward(sos, zi, flat[start:stop, cols].T, pad).T
    return out


def _forward_backward(sos: np.ndarray, zi: np.ndarray, rows: np.ndarray, pad: int) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, rows, axis=-1, padtype="odd", padlen=pad)`` for a (C, n) block with
    n > pad, without its per-call checks (an hour of landmarks has thousands of runs between gaps); ``zi`` is
    ``sosfilt_zi(sos)[:, None, :]``."""
    x = np.ascontiguousarray(rows)
    ext = np.concatenate([2 * x[:, :1] - x[:, pad:0:-1], x, 2 * x[:, -1:] - x[:, -2 : -pad - 2 : -1]], axis=1)
    y, _ = sosfilt(sos, ext, axis=-1, zi=zi * ext[None, :, :1])
    y = np.ascontiguousarray(y[:, ::-1])
    y, _ = sosfilt(sos, y, axis=-1, zi=zi * y[None, :, :1])
    return np.asarray(y[:, ::-1][:, pad:-pad])


def _same_gaps(finite: np.ndarray) -> list[np.ndarray]:
    """Column indices of a (T, C) finite mask grouped by identical columns."""
    if finite.shape[1] == 0:
        return []
    _, group = np.unique(np.packbits(finite, axis=0).T, axis=0, return_inverse=True)
    group = np.asarray(group).ravel()
    return [np.flatnonzero(group == g) for g in range(int(group.max()) + 1)]


def _smoothing_factor(dt_s: float, cutoff_hz: float) -> float:
    r = 2.0 * math.pi * cutoff_hz * dt_s
    return r / (r + 1.0)


class OneEuroFilter:
    """Causal One Euro filter over arrays of any shape (Casiez, Roussel and Vogel 2012).

    ``cutoff = min_cutoff_hz + beta * |smoothed derivative|``; the derivative is itself smoothed
    at ``d_cutoff_hz``. NaN inputs give NaN and reset that element, so a lost landmark restarts cleanly.
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 0.0, d_cutoff_hz: float = 1.0) -> None:
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
            raise ValueError("One Euro cut-offs must be > 0 and beta >= 0")
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = min_cutoff_hz, beta, d_cutoff_hz
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t_s: float | None = None

    def step(self, x: np.ndarray, t_s: float) -> np.ndarray:
        """Filter one sample taken at ``t_s`` seconds; returns the smoothed value."""
        x = np.asarray(x, dtype=float)
        if self._x is None or self._dx is None or self._t_s is None or t_s <= self._t_s:
            self._x, self._dx, self._t_s = x.copy(), np.zeros_like(x), t_s
            return x.copy()
        dt_s = t_s - self._t_s
        restart = ~np.isfinite(self._x)
        dx = (x - self._x) / dt_s
        a_d = _smoothing_factor(dt_s, self.d_cutoff_hz)
        dx_hat = np.where(restart, 0.0, a_d * dx + (1 - a_d) * self._dx)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(dx_hat)
        r = 2.0 * math.pi * cutoff * dt_s
        alpha = r / (r + 1.0)
        x_hat = np.where(restart, x, alpha * x + (1 - alpha) * self._x)
        self._x, self._dx, self._t_s = x_hat, np.where(np.isfinite(dx_hat), dx_hat, 0.0), t_s
        return np.asarray(x_hat.copy())


def one_euro_series(values: np.ndarray, t_s: np.ndarray, settings: FilterSettings) -> np.ndarray:
    """Run a fresh ``OneEuroFilter`` causally along axis 0 (what the live loop computes)."""
    f = OneEuroFilter(settings.one_euro_min_cutoff_hz, settings.one_euro_beta, settings.one_euro_d_cutoff_hz)
    return np.stack([f.step(v, float(t)) for v, t in zip(values, t_s, strict=True)]) if len(t_s) else values


def _filled(values: np.ndarray) -> np.ndarray:
    """(T, C) with each column's NaNs replaced by linear interpolation (ends held); all-NaN columns stay NaN."""
    out = np.array(values, dtype=float)
    idx = np.arange(out.shape[0])
    for col in range(out.shape[1]):
        finite = np.isfinite(out[:, col])
        if finite.any() and not finite.all():
            out[~finite, col] = np.interp(idx[~finite], idx[finite], out[finite, col])
    return out


def hampel(values: np.ndarray, half: int, floor: float, mad_factor: float = 3.0) -> np.ndarray:
    """(T, C) True where a finite sample is further than ``mad_factor`` scaled median absolute deviations and
    ``floor`` from the median of the ``2 * half + 1`` samples around it (a Hampel identifier; Hampel 1974): the
    MAD is that window's, about its own median. Missing samples are bridged by interpolation for the medians
    only; the ends repeat the first and last sample.

    A sample can only lie ``floor`` from its window's median where the window's range (max - min) exceeds
    ``floor``, so medians and MADs are computed only for those samples (running max and min first): an hour of
    66 coordinates takes a fraction of a second.
    """
    v = np.asarray(values, dtype=float)
    n = v.shape[0]
    if n < 3:
        return np.zeros(v.shape, dtype=bool)
    filled = _filled(v)
    width = 2 * half + 1
    spread = maximum_filter1d(filled, width, axis=0, mode="nearest") - minimum_filter1d(
        filled, width, axis=0, mode="nearest"
    )
    with np.errstate(invalid="ignore"):
        rows, cols = np.nonzero(np.isfinite(v) & (spread > floor))
    windows = filled[np.clip(rows[:, None] + np.arange(-half, half + 1), 0, n - 1), cols[:, None]]
    median = np.partition(windows, half, axis=-1)[:, half]
    mad = 1.4826 * np.partition(np.abs(windows - median[:, None]), half, axis=-1)[:, half]
    departure = np.abs(filled[rows, cols] - median)
    out = np.zeros(v.shape, dtype=bool)
    out[rows, cols] = (departure > mad_factor * mad) & (departure > floor)
    return out


def landmark_outliers(
    xy_px: np.ndarray, t_s: np.ndarray, half_window_s: float, floor_px: float, mad_factor: float = 3.0
) -> np.ndarray:
    """(T, K) True where a landmark coordinate is a momentary outlier: further than ``mad_factor`` scaled median
    absolute deviations and ``floor_px`` from the median of the samples within ``half_window_s`` either side (a
    Hampel identifier on each coordinate; Hampel 1974). Such points are blanked and interpolated before the
    low-pass filter, which would otherwise spread them over their neighbours.
    """
    xy = np.asarray(xy_px, dtype=float)
    n = xy.shape[0]
    if n < 3:
        return np.zeros(xy.shape[:2], dtype=bool)
    dt_s = float(np.median(np.diff(t_s)))
    half = max(1, int(round(half_window_s / dt_s))) if dt_s > 0 else 1
    bad = hampel(xy.reshape(n, -1), half, floor_px, mad_factor)
    return np.asarray(bad.reshape(xy.shape).any(axis=-1))


def scene_cuts(xy_px: np.ndarray, trunk_lengths: float = SCENE_CUT_TRUNK_LENGTHS) -> np.ndarray:
    """Indices of the frames that start a new scene: the median landmark displacement from the previous
    frame with landmarks exceeds ``trunk_lengths`` times the trunk length (mid-shoulder to mid-hip, the larger
    of the two frames'). A person's fastest movement moves the limbs, not the median of 33 points, by half a
    trunk in one frame; an edit or a switch to another person does.

    ``xy_px`` is (T, 33, 2); frames without landmarks are skipped (a gap is not a cut by itself).
    """
    xy = np.asarray(xy_px, dtype=float)
    seen = np.flatnonzero(np.isfinite(xy).all(axis=-1).sum(axis=-1) >= 4)
    if seen.size < 2:
        return np.zeros(0, dtype=int)
    cut = is_cut(xy[seen[:-1]], xy[seen[1:]], trunk_lengths)
    return np.asarray(seen[1:][cut], dtype=int)


def is_cut(before_px: np.ndarray, after_px: np.ndarray, trunk_lengths: float = SCENE_CUT_TRUNK_LENGTHS) -> np.ndarray:
    """(N,) True where the landmarks ``after_px`` (N, 33, 2) start a new scene after ``before_px``: the median
    landmark displacement exceeds ``trunk_lengths`` times the larger of the two trunk lengths (``scene_cuts``).
    The live pose adapter asks this of consecutive frames to restart MediaPipe's tracking at a cut."""
    a, b = np.asarray(before_px, dtype=float), np.asarray(after_px, dtype=float)
    trunk_a = np.linalg.norm((a[:, 23] + a[:, 24]) / 2 - (a[:, 11] + a[:, 12]) / 2, axis=-1)
    trunk_b = np.linalg.norm((b[:, 23] + b[:, 24]) / 2 - (b[:, 11] + b[:, 12]) / 2, axis=-1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        distance = np.linalg.norm(b - a, axis=-1)
        complete = np.isfinite(distance).all(axis=1)  # most frames: the plain median (nanmedian is slow)
        moved = np.empty(distance.shape[0])
        moved[complete] = np.median(distance[complete], axis=1)
        moved[~complete] = np.nanmedian(distance[~complete], axis=1) if (~complete).any() else 0.0
        return np.asarray(moved > trunk_lengths * np.fmax(trunk_a, trunk_b))


def clean_trajectories(
    xy_px: np.ndarray,
    visibility: np.ndarray,
    t_s: np.ndarray,
    settings: FilterSettings,
    outliers: np.ndarray | None = None,
) -> np.ndarray:
    """Mask low visibility (and the (T, K) ``outliers``, e.g. ``landmark_outliers``), fill short gaps, then
    smooth, as ``settings`` says; each scene between ``scene_cuts`` separately, so that nothing is interpolated
    or smoothed across a cut."""
    xy = mask_low_visibility(xy_px, visibility, settings.min_visibility)
    if outliers is not None:
        xy[outliers] = np.nan
    bounds = [0, *scene_cuts(xy).tolist(), xy.shape[0]]
    out = np.empty_like(xy)
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        out[start:stop] = _clean_segment(xy[start:stop], t_s[start:stop], settings)
    return out


def _clean_segment(xy: np.ndarray, t_s: np.ndarray, settings: FilterSettings) -> np.ndarray:
    xy = fill_short_gaps(xy, t_s, settings.max_gap_s)
    if settings.kind == "butterworth":
        return butterworth_zero_lag(xy, t_s, settings.cutoff_hz, settings.order)
    if settings.kind == "one_euro":
        return one_euro_series(xy, t_s, settings)
    return xy
