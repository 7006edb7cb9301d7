"""Cleaning landmark trajectories: mask, fill short gaps, smooth.

Offline: zero-lag 4th-order Butterworth at 6 Hz (Winter). Live: the causal One Euro filter
(Casiez 2012). Every function works along axis 0 (time) and keeps NaN where data is missing.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from romcam.kinematics.geometry import finite_2d, length_2d
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


def mask_low_visibility(
    xy_px: np.ndarray, visibility: np.ndarray, min_visibility: float, blank: np.ndarray | None = None
) -> np.ndarray:
    """Copy of ``xy_px`` (T, K, 2) with NaN where ``visibility`` (T, K) is below ``min_visibility`` (and where the
    (T, K) mask ``blank`` is True), stored landmark by landmark (``landmark_major``)."""
    with np.errstate(invalid="ignore"):
        keep = visibility >= min_visibility
    if blank is not None:
        keep &= ~blank
    out = landmark_major(np.shape(xy_px))
    np.multiply(xy_px, np.where(keep, 1.0, np.nan)[..., None], out=out)  # x * 1 = x, x * NaN = NaN: one pass
    return out


def landmark_major(shape: tuple[int, ...], fill: float | None = None) -> np.ndarray:
    """A new float array of ``shape`` (T, K, 2) stored landmark by landmark: each landmark's track ``a[:, k]`` is
    contiguous, which the angle formulas (whole tracks of a few landmarks each) read about twice as fast."""
    out = np.empty((shape[1], shape[0], *shape[2:])).swapaxes(0, 1)
    if fill is not None:
        out.fill(fill)
    return out


def fill_short_gaps(values: np.ndarray, t_s: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate interior NaN gaps whose duration is at most ``max_gap_s``.

    The duration of a gap is the time between the valid samples on either side minus one sample
    interval, so a single missing frame at 30 fps lasts 1/30 s. Leading and trailing gaps stay NaN.
    ``values`` has time on axis 0; every other position is filled independently.
    """
    out = np.array(values, dtype=float, order="C")
    _fill_short_gaps_in_place(out.reshape(out.shape[0], -1), np.asarray(t_s, dtype=float), max_gap_s)
    return out


def _fill_short_gaps_in_place(flat: np.ndarray, t: np.ndarray, max_gap_s: float) -> None:
    """``fill_short_gaps`` of a (T, C) array, in place: each column with gaps at a time, by ``np.interp`` at the
    samples of its short interior gaps."""
    if flat.shape[0] < 3:
        return
    valid = np.isfinite(flat)
    for c in np.flatnonzero(~valid.all(axis=0)):
        kept = np.flatnonzero(valid[:, c])
        if kept.size < 2:
            continue
        gaps = np.flatnonzero(np.diff(kept) > 1)
        before, after = kept[gaps], kept[gaps + 1]
        short = t[after] - t[before + 1] <= max_gap_s + 1e-9
        if short.any():
            rows = _gap_rows(before[short], after[short])
            flat[rows, c] = np.interp(t[rows], t[kept], flat[kept, c])


def _gap_rows(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """The indices strictly between each ``before[i]`` and ``after[i]``, concatenated."""
    lengths = after - before - 1
    starts = np.repeat(before + 1 - (np.cumsum(lengths) - lengths), lengths)
    return np.asarray(np.arange(int(lengths.sum())) + starts)


def butterworth_zero_lag(values: np.ndarray, t_s: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-lag low-pass: forward-backward Butterworth (``sosfiltfilt``, odd padding) on each run of valid
    samples.

    The sampling rate is ``1 / median(diff(t_s))``. ``order`` is the order of the design; the
    forward-backward pass doubles the effective order and squares the gain. Runs too short for the
    filter's padding are left as they are; NaN stays NaN.
    """
    out = np.array(values, dtype=float, order="C")
    _butterworth_in_place(out.reshape(out.shape[0], -1), np.asarray(t_s, dtype=float), cutoff_hz, order)
    return out


def _butterworth_in_place(flat: np.ndarray, t_s: np.ndarray, cutoff_hz: float, order: int) -> None:
    """``butterworth_zero_lag`` of a (T, C) array, in place."""
    if flat.shape[0] < 2:
        return
    fs_hz = 1.0 / float(np.median(np.diff(t_s)))
    if cutoff_hz >= fs_hz / 2:
        return
    sos, zi = _butterworth_design(order, cutoff_hz, fs_hz)
    pad = 3 * (2 * len(sos) + 1)
    runs = _valid_runs(np.isfinite(flat), pad)
    # runs of similar length are filtered as the rows of one block (a few calls instead of one per run)
    bucket = np.ceil(np.log2(runs[:, 2] - runs[:, 1])).astype(int) if len(runs) else np.zeros(0, dtype=int)
    for b in np.unique(bucket):
        same = runs[bucket == b]
        rows = max(1, BLOCK_SAMPLES // (2**b + 2 * pad))  # blocks of about a million samples: bounded memory
        for first in range(0, len(same), rows):
            _filter_runs(flat, same[first : first + rows], sos, zi, pad)


@functools.lru_cache(maxsize=16)
def _butterworth_design(order: int, cutoff_hz: float, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """The low-pass's second-order sections and their steady-state initial conditions (``sosfilt_zi``), designed
    once per (order, cut-off, rate): a long clip's blocks and scenes share them."""
    sos = butter(order, cutoff_hz, btype="low", fs=fs_hz, output="sos")
    return sos, sosfilt_zi(sos)


BLOCK_SAMPLES = 1 << 20
"""About how many samples the forward-backward filter processes at once."""


def nonzero_2d(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2D mask (rows, columns, in row-major order), from its flat indices: several times
    faster than ``np.nonzero`` for a mask stored row by row."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


def _valid_runs(finite: np.ndarray, pad: int) -> np.ndarray:
    """(R, 3) column, start and stop of each run of finite samples longer than ``pad`` in a (T, C) mask, column by
    column."""
    padded = np.zeros((finite.shape[1], finite.shape[0] + 2), dtype=np.int8)  # a row per column
    padded[:, 1:-1] = finite.T
    step = np.diff(padded, axis=1)
    start_c, start_t = nonzero_2d(step == 1)
    _, stop_t = nonzero_2d(step == -1)
    runs = np.stack([start_c, start_t, stop_t], axis=1)
    return runs[runs[:, 2] - runs[:, 1] > pad]


def _filter_runs(flat: np.ndarray, runs: np.ndarray, sos: np.ndarray, zi: np.ndarray, pad: int) -> None:
    """``sosfiltfilt(sos, x, padtype="odd", padlen=pad)`` of every run (column, start, stop) of ``flat``, in
    place: each run, extended by ``pad`` odd-reflected samples at both ends, is a row of one block, left-aligned;
    the rows' tails after their ends do not reach back in a causal filter, and they hold the row's last value
    through the backward pass (``hold_last_value``). Rows are filled and read back by slices, one run at a time
    (a few dozen per block; index arrays the size of the block would cost more); the reflections, a few samples
    per run, by index."""
    col, start, length = runs[:, 0], runs[:, 1], runs[:, 2] - runs[:, 1]
    width = length + 2 * pad
    x = np.zeros((len(runs), int(width.max())))
    for r, (c, a, n) in enumerate(zip(col.tolist(), start.tolist(), length.tolist(), strict=True)):
        x[r, pad : pad + n] = flat[a : a + n, c]
    # odd reflection about each run's end samples: before its first (at one column in every row), after its last
    x[:, :pad] = 2.0 * x[:, pad : pad + 1] - x[:, 2 * pad : pad : -1]
    rows, last, k = np.arange(len(runs))[:, None], (pad + length - 1)[:, None], np.arange(1, pad + 1)
    x[rows, last + k] = 2.0 * x[rows, last] - x[rows, last - k]
    zi_rows = zi[:, None, :]
    y, _ = sosfilt(sos, x, axis=-1, zi=zi_rows * x[None, :, :1])
    hold_last_value(y, width)
    y, _ = sosfilt(sos, y[:, ::-1], axis=-1, zi=zi_rows * y[None, :, -1:])
    y = y[:, ::-1]
    for r, (c, a, n) in enumerate(zip(col.tolist(), start.tolist(), length.tolist(), strict=True)):
        flat[a : a + n, c] = y[r, pad : pad + n]


def hold_last_value(y: np.ndarray, width: np.ndarray) -> None:
    """Set each row of ``y`` beyond its own ``width`` to its last value within it, in place. A row so extended
    and reversed as a whole starts with a constant: a filter started in its steady state for that value
    (``sosfilt_zi``) stays in it, so it meets the row's own end in the state it would have started there with,
    and the rows of one block need no reversal each within its own length."""
    if (width < y.shape[1]).any():
        last = np.take_along_axis(y, (width - 1)[:, None], axis=1)
        np.copyto(y, last, where=np.arange(y.shape[1]) >= width[:, None])


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


def _filled(values: np.ndarray, reach: int | None = None) -> np.ndarray:
    """(T, C) with each column's NaNs replaced by linear interpolation (ends held); all-NaN columns stay NaN.
    All gaps of all columns at once: each missing sample between the valid samples either side of its gap
    (``np.interp``'s formula). With ``reach``, only the samples at most ``reach`` from either end of a gap are
    filled (those a window of ``reach`` either side of a valid sample sees) and the rest stay NaN: a long gap
    costs no more than a short one."""
    out = np.array(values, dtype=float, order="C")
    missing = ~np.isfinite(out)
    if not missing.any():
        return out
    n = out.shape[0]
    padded = np.zeros((out.shape[1], n + 2), dtype=np.int8)  # a row per column
    padded[:, 1:-1] = missing.T
    step = np.diff(padded, axis=1)
    col, first = nonzero_2d(step == 1)
    _, stop = nonzero_2d(step == -1)
    before, after = first - 1, stop  # the valid samples either side of each gap (-1 or n: none)
    partial = (before >= 0) | (after < n)  # a column missing throughout stays missing
    before, after, col = before[partial], after[partial], col[partial]
    if reach is not None:  # each gap as two pieces: its first and its last ``reach`` samples (or all, if short)
        head_stop = np.minimum(after, before + 1 + reach)
        tail_start = np.maximum(head_stop, after - reach)
        starts, stops = np.concatenate([before, tail_start - 1]), np.concatenate([head_stop, after])
        before, after, col = np.tile(before, 2), np.tile(after, 2), np.tile(col, 2)
    else:
        starts, stops = before, after
    lengths = stops - starts - 1
    rows, cols = _gap_rows(starts, stops), np.repeat(col, lengths)
    lo, hi = np.repeat(before, lengths), np.repeat(after, lengths)
    lo_value, hi_value = out[np.maximum(lo, 0), cols], out[np.minimum(hi, n - 1), cols]
    lo_value = np.where(lo < 0, hi_value, lo_value)  # the ends hold the nearest valid sample
    hi_value = np.where(hi >= n, lo_value, hi_value)
    slope = (hi_value - lo_value) / (hi - lo)
    out[rows, cols] = slope * (rows - lo) + lo_value
    return out


def running_range(values: np.ndarray, half: int) -> np.ndarray:
    """(T, ...) max - min of the ``2 * half + 1`` samples around each along axis 0, the ends repeated (what
    ``maximum_filter1d - minimum_filter1d`` with mode "nearest" give). Doubling spans: the maxima (minima) over 2,
    4, 8, ... samples, each from two of the span before, until a span covers half the window; the window's is then
    that of two overlapping spans, its first and its last: log2 of the window's width passes instead of one per
    sample (for a running median's few samples this beats a general filter several times)."""
    v = np.asarray(values, dtype=float)
    n, width = v.shape[0], 2 * half + 1
    high = low = np.concatenate([np.repeat(v[:1], half, axis=0), v, np.repeat(v[-1:], half, axis=0)])
    span = 1
    while 2 * span <= width:  # high[i]: the maximum of padded samples i .. i + 2 * span - 1
        high, low = np.maximum(high[:-span], high[span:]), np.minimum(low[:-span], low[span:])
        span *= 2
    rest = width - span
    out = np.maximum(high[:n], high[rest : rest + n])
    out -= np.minimum(low[:n], low[rest : rest + n])
    return out


def hampel(values: np.ndarray, half: int, floor: float, mad_factor: float = 3.0) -> np.ndarray:
    """(T, C) True where a finite sample is further than ``mad_factor`` scaled median absolute deviations and
    ``floor`` from the median of the ``2 * half + 1`` samples around it (a Hampel identifier; Hampel 1974): the
    MAD is that window's, about its own median. Missing samples are bridged by interpolation for the medians
    only; the ends repeat the first and last sample.

    A sample can only lie ``floor`` from its window's median where the window's range (max - min) exceeds
    ``floor``, so medians and MADs are computed only for those samples (running max and min first), each by a
    comparator network over all windows at once (``middle_value``); gaps are bridged only as far as a window of a
    valid sample reaches. An hour of 66 coordinates takes a fraction of a second.
    """
    v = np.asarray(values, dtype=float)
    n = v.shape[0]
    if n < 3:
        return np.zeros(v.shape, dtype=bool)
    filled = _filled(v, half)  # only what the windows of valid samples see: NaN stays deep inside long gaps
    spread = running_range(filled, half)
    with np.errstate(invalid="ignore"):
        rows, cols = nonzero_2d(np.isfinite(v) & (spread > floor))
    at = rows + np.arange(-half, half + 1)[:, None]  # (window, candidate): flat indices into ``filled``
    np.clip(at, 0, n - 1, out=at)
    at *= filled.shape[1]
    at += cols
    windows = filled.ravel().take(at)  # each window's samples are finite: the windows of valid samples
    median = middle_value(windows)
    np.subtract(windows, median, out=windows)
    mad = 1.4826 * middle_value(np.abs(windows, out=windows))
    departure = np.abs(filled[rows, cols] - median)
    out = np.zeros(v.shape, dtype=bool)
    out[rows, cols] = (departure > mad_factor * mad) & (departure > floor)
    return out


def middle_value(samples: np.ndarray) -> np.ndarray:
    """(N,) the median of each column of ``samples`` (W, N), W odd and no NaN: the value sorting would put in the
    middle. For windows up to ``NETWORK_MAX_SAMPLES`` long, a comparator network (``median_network``) on whole
    rows, a few dozen minima and maxima of N values: several times faster than sorting N short windows."""
    width = samples.shape[0]
    if width > NETWORK_MAX_SAMPLES:
        return np.asarray(np.sort(samples, axis=0)[width // 2])
    wires = list(samples)
    for i, j, keep_low, keep_high in median_network(width):
        low = np.minimum(wires[i], wires[j]) if keep_low else wires[i]
        wires[j] = np.maximum(wires[i], wires[j]) if keep_high else wires[j]
        wires[i] = low
    return np.asarray(wires[width // 2])


NETWORK_MAX_SAMPLES = 15
"""The longest window ``middle_value`` takes the median of by a comparator network (30 fps: 7 samples; 60 fps: 13);
longer ones are sorted, where a network's comparators outgrow a sort's cost."""


@functools.cache
def median_network(width: int) -> tuple[tuple[int, int, bool, bool], ...]:
    """The comparators (i, j, keep_low, keep_high), i < j, that bring the median of ``width`` values (odd) onto
    wire ``width // 2``: each puts the smaller of wires i and j on i and the larger on j. Those of a sorting
    network (``odd_even_merge_sort``) for the next power of two, less those touching the wires beyond ``width``
    (they hold +inf, which no comparator moves); then, from the last back, only those whose outputs a later kept
    comparator or the middle wire reads, computing only the outputs read."""
    size = 1 << max(0, (width - 1).bit_length())
    needed = {width // 2}
    kept: list[tuple[int, int, bool, bool]] = []
    for i, j in reversed([(i, j) for i, j in odd_even_merge_sort(size) if j < width]):
        if i in needed or j in needed:
            kept.append((i, j, i in needed, j in needed))
            needed |= {i, j}
    return tuple(reversed(kept))


def odd_even_merge_sort(size: int) -> list[tuple[int, int]]:
    """The comparators (i, j), i < j, of Batcher's odd-even merge sort of ``size`` (a power of two) values, in
    order (Knuth, TAOCP vol. 3, 5.3.4; the iterative form)."""
    network = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                network += [
                    (i + j, i + j + k)
                    for i in range(min(k, size - j - k))
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p)
                ]
            k //= 2
        p *= 2
    return network


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
    out = np.zeros(xy.shape[:2], dtype=bool)
    step = max(1, BLOCK_SAMPLES // (2 * n))  # landmarks at a time: bounded memory on long recordings
    for k in range(0, xy.shape[1], step):
        part = np.ascontiguousarray(xy[:, k : k + step]).reshape(n, -1)
        found = hampel(part, half, floor_px, mad_factor)
        out[:, k : k + step] = found[:, 0::2] | found[:, 1::2]  # x or y (faster than ``any`` over a pair)
    return out


def scene_cuts(xy_px: np.ndarray, trunk_lengths: float = SCENE_CUT_TRUNK_LENGTHS) -> np.ndarray:
    """Indices of the frames that start a new scene: the median landmark displacement from the previous
    frame with landmarks exceeds ``trunk_lengths`` times the trunk length (mid-shoulder to mid-hip, the larger
    of the two frames'). A person's fastest movement moves the limbs, not the median of 33 points, by half a
    trunk in one frame; an edit or a switch to another person does.

    ``xy_px`` is (T, 33, 2); frames without landmarks are skipped (a gap is not a cut by itself).
    """
    xy = np.asarray(xy_px, dtype=float)
    seen = np.flatnonzero(finite_2d(xy).sum(axis=-1) >= 4)
    if seen.size < 2:
        return np.zeros(0, dtype=int)
    cut = np.zeros(seen.size - 1, dtype=bool)
    every_frame = seen.size == xy.shape[0]  # then consecutive frames are slices, not copies
    for i in range(0, seen.size - 1, 8192):  # blocks of frames: bounded memory on long recordings
        before, after = seen[i : i + 8192], seen[i + 1 : i + 8193]
        if every_frame:
            cut[i : i + after.size] = is_cut(xy[i : i + after.size], xy[i + 1 : i + 1 + after.size], trunk_lengths)
        else:
            cut[i : i + after.size] = is_cut(xy[before[: after.size]], xy[after], trunk_lengths)
    return np.asarray(seen[1:][cut], dtype=int)


def is_cut(before_px: np.ndarray, after_px: np.ndarray, trunk_lengths: float = SCENE_CUT_TRUNK_LENGTHS) -> np.ndarray:
    """(N,) True where the landmarks ``after_px`` (N, 33, 2) start a new scene after ``before_px``: the median
    landmark displacement exceeds ``trunk_lengths`` times the larger of the two trunk lengths (``scene_cuts``).
    The live pose adapter asks this of consecutive frames to restart MediaPipe's tracking at a cut."""
    a, b = np.asarray(before_px, dtype=float), np.asarray(after_px, dtype=float)
    trunk_a = length_2d((a[:, 23] + a[:, 24]) / 2 - (a[:, 11] + a[:, 12]) / 2)
    trunk_b = length_2d((b[:, 23] + b[:, 24]) / 2 - (b[:, 11] + b[:, 12]) / 2)
    limit = trunk_lengths * np.fmax(trunk_a, trunk_b)
    return median_exceeds(length_2d(b - a), limit)


def median_exceeds(values: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """(N,) ``nanmedian(values, axis=1) > limit`` for (N, K) ``values`` and (N,) ``limit``, by counting instead
    of sorting: with ``n`` finite values of which ``c`` exceed the limit, the median does iff ``2c > n``, or
    ``2c == n`` and the mean of the two middle values (the largest below, the smallest above) does. NaN rows and
    NaN limits give False."""
    with np.errstate(invalid="ignore"):
        above = values > limit[:, None]
        n = np.isfinite(values).sum(axis=1)
        c = above.sum(axis=1)
        result = 2 * c > n
        tie = (2 * c == n) & (n > 0)
        if tie.any():
            v, a = values[tie], above[tie]
            lower = np.max(np.where(np.isfinite(v) & ~a, v, -np.inf), axis=1)
            upper = np.min(np.where(a, v, np.inf), axis=1)
            result[tie] = (lower + upper) / 2 > limit[tie]
    return np.asarray(result)


def clean_trajectories(
    xy_px: np.ndarray,
    visibility: np.ndarray,
    t_s: np.ndarray,
    settings: FilterSettings,
    outliers: np.ndarray | None = None,
    landmarks: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Mask low visibility (and the (T, K) ``outliers``, e.g. ``landmark_outliers``), then ``clean_masked``."""
    xy = mask_low_visibility(xy_px, visibility, settings.min_visibility)
    if outliers is not None:
        xy[outliers] = np.nan
    return clean_masked(xy, t_s, settings, landmarks)


def clean_masked(
    xy_px: np.ndarray, t_s: np.ndarray, settings: FilterSettings, landmarks: tuple[int, ...] | None = None
) -> np.ndarray:
    """Fill short gaps of (T, K, 2) landmarks already masked (NaN where missing), then smooth, as ``settings``
    says; each scene between ``scene_cuts`` separately, so that nothing is interpolated or smoothed across a cut.
    Only the ``landmarks`` given (default: all) are cleaned; the others are NaN."""
    bounds = [0, *scene_cuts(xy_px).tolist(), xy_px.shape[0]]
    columns = list(range(xy_px.shape[1])) if landmarks is None else list(landmarks)
    # one row per coordinate track (landmark, x or y), contiguous in time; ``flat`` is its (T, 2K) view
    tracks = np.stack([np.asarray(xy_px[:, k], dtype=float).T for k in columns])
    tracks = tracks.reshape(2 * len(columns), xy_px.shape[0])
    flat = tracks.T
    t = np.asarray(t_s, dtype=float)
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        _clean_segment_in_place(flat[start:stop], t[start:stop], settings)
    out = landmark_major(xy_px.shape, np.nan)
    for i, k in enumerate(columns):
        out[:, k] = tracks[2 * i : 2 * i + 2].T
    return out


def _clean_segment_in_place(flat: np.ndarray, t_s: np.ndarray, settings: FilterSettings) -> None:
    """Fill short gaps, then smooth, a (T, C) view of one scene, in place."""
    _fill_short_gaps_in_place(flat, t_s, settings.max_gap_s)
    if settings.kind == "butterworth":
        _butterworth_in_place(flat, t_s, settings.cutoff_hz, settings.order)
    elif settings.kind == "one_euro":
        flat[:] = one_euro_series(flat, t_s, settings)
