"""Repairing left/right label swaps of the limbs, which single-camera pose makes in side views (numpy only)."""

from __future__ import annotations

import numpy as np

from romcam.kinematics.geometry import finite_2d, length_2d
from romcam.landmarks import Landmark as L
from romcam.thresholds import LIMB_GLITCH_MAX_RUN_S, LIMB_GLITCH_TOLERANCE

LIMB_GROUPS: dict[str, tuple[str, ...]] = {
    "leg": ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX"),
    "arm": ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB"),
}
"""Landmarks whose left/right labels are swapped together (hips and shoulders keep theirs)."""


def _indices(group: tuple[str, ...]) -> tuple[list[int], list[int]]:
    return [int(L[f"LEFT_{n}"]) for n in group], [int(L[f"RIGHT_{n}"]) for n in group]


def _summed_costs(distance: np.ndarray) -> np.ndarray:
    """(T,) sum over the first axis of (K, T) distances, counting only finite ones; NaN where none is."""
    finite = np.isfinite(distance)
    total = np.where(finite, distance, 0.0).sum(axis=0)
    total[~finite.any(axis=0)] = np.nan
    return np.asarray(total)


def _held_before(values: np.ndarray, seen: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(K, T) each row's value at its last ``seen`` position strictly before each position of (K, T) ``values``
    (``start`` (K,) before the first). Where every frame has all points or none (as the model gives them), one
    index per frame serves all rows."""
    frame_seen = seen[0]
    if (seen == frame_seen).all():
        before = _last_before(frame_seen[None])[0]
        held = np.empty_like(values)
        held[:, 1:] = values[:, :-1]  # the frame before, as a rule: a shifted copy, then the frames after a gap
        after_gap = np.flatnonzero(before != np.arange(len(before)) - 1)
        held[:, after_gap] = values[:, np.maximum(before[after_gap], 0)]
        held[:, before < 0] = start[:, None]
        return np.asarray(held)
    previous = _last_before(seen)
    never = previous < 0
    np.maximum(previous, 0, out=previous)
    return np.asarray(np.where(never, start[:, None], np.take_along_axis(values, previous, axis=1)))


def _last_before(seen: np.ndarray) -> np.ndarray:
    """(K, T) for each row of a (K, T) mask, the last index strictly before each position where it is True (-1
    where there is none)."""
    n = seen.shape[1]
    last = np.maximum.accumulate(np.where(seen, np.arange(n)[None, :], -1), axis=1)
    previous = np.empty_like(last)
    previous[:, 0], previous[:, 1:] = -1, last[:, :-1]
    return previous


def _better(keep: np.ndarray, swap: np.ndarray, ratio: float, min_gain_px: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(keep) & np.isfinite(swap) & (swap < ratio * keep) & (keep - swap > min_gain_px)


def _swap_states(
    swap_if_kept: np.ndarray, swap_if_swapped: np.ndarray, seen: np.ndarray, allowed: np.ndarray, max_run: int
) -> np.ndarray:
    """(T,) bool: which frames swap, following the tracks' state (swapped or not at the last frame with points)
    and undoing a run longer than ``max_run``. Followed frame by frame where a run is on; from an idle state
    (tracks not swapped, no run) nothing changes until the next frame where a swap may start, so the loop
    jumps there."""
    start_ok = np.asarray(swap_if_kept, dtype=bool) & np.asarray(allowed, dtype=bool)
    stay_ok = np.asarray(swap_if_swapped, dtype=bool) & np.asarray(allowed, dtype=bool)
    seen = np.asarray(seen, dtype=bool)
    n = seen.shape[0]
    candidates = np.flatnonzero(start_ok)
    swapped = np.zeros(n, dtype=bool)
    track_swapped, run_start, t = False, -1, 0
    while t < n:
        if not track_swapped and run_start < 0:
            i = int(np.searchsorted(candidates, t))
            if i == candidates.size:
                break
            t = int(candidates[i])
        now = bool(stay_ok[t] if track_swapped else start_ok[t])
        if now:
            run_start = t if run_start < 0 else run_start
            swapped[t] = True
            if t - run_start + 1 > max_run:  # not a flip: give the labels back and follow the model
                swapped[run_start : t + 1] = False
                run_start, now = -1, False
        else:
            run_start = -1
        if seen[t]:
            track_swapped = now
        t += 1
    return swapped


def repair_left_right(
    xy_px: np.ndarray,
    visibility: np.ndarray,
    ratio: float = 0.5,
    min_gain_px: float = 8.0,
    max_run: int = 10,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swap a limb's left and right labels in frames where the swapped labels continue the previous
    frames' tracks much better than the given ones (``left_right_swaps``, then ``apply_swaps``).

    Returns
    -------
    xy_px, visibility : repaired copies.
    swapped : (T, n_groups) bool, True where a group was swapped (columns in ``LIMB_GROUPS`` order).
    """
    swapped = left_right_swaps(xy_px, ratio, min_gain_px, max_run, allowed)
    xy, vis = apply_swaps(xy_px, visibility, swapped)
    return xy, vis, swapped


def left_right_swaps(
    xy_px: np.ndarray,
    ratio: float = 0.5,
    min_gain_px: float = 8.0,
    max_run: int = 10,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """(T, n_groups) bool: the frames where a limb group's left and right labels are to be swapped.

    For each group (legs, arms) and frame ``t``: ``keep`` = distance of the left points to the left
    track plus right to right (tracks = the repaired points of the frames before, each point where it was
    last seen), ``swap`` = left to right plus right to left. The labels are swapped when
    ``swap < ratio * keep`` and ``keep - swap > min_gain_px``, so crossing limbs (where both costs are
    alike) are never swapped. A label flip lasts a few frames; a run of more than ``max_run`` swapped
    frames is a real movement the tracks missed, so it is undone and the tracks restart from the model's
    labels. ``allowed`` (T,) limits swapping to some frames (romcam passes the frames not seen front-on:
    facing the camera the labels follow the face and trunk, and a limb the model drops near the other one
    must not drag the tracks across). The costs are computed for all frames at once against the model's
    labels; only the state (are the tracks swapped?) is followed frame by frame. This is exact for frames
    whose points are all present or all missing, as the model gives them; a point missing on its own holds
    its last position under the model's label. Only the limb landmarks of ``xy_px`` are read.
    """
    swapped = np.zeros((xy_px.shape[0], len(LIMB_GROUPS)), dtype=bool)
    for g, group in enumerate(LIMB_GROUPS):
        swapped[:, g] = swaps_from_costs(track_costs(xy_px, group), ratio, min_gain_px, max_run, allowed)
    return swapped


TrackCosts = tuple[np.ndarray, np.ndarray, np.ndarray]
"""(keep, swap, seen), each (T,): the cost of the model's labels and of the swapped ones against the tracks, and
whether the frame has any of the group's points (``track_costs``)."""


def group_points(xy_px: np.ndarray, group: str) -> np.ndarray:
    """(T, 2K, 2) the limb group's left points, then its right points, in ``LIMB_GROUPS`` order."""
    left, right = _indices(LIMB_GROUPS[group])
    return np.asarray(xy_px[:, left + right], dtype=float)


def last_seen(points: np.ndarray) -> np.ndarray:
    """(K, 2) each point's last finite position in ``points`` (T, K, 2), NaN where it is never seen: the tracks a
    following stretch of frames starts from."""
    out = np.full(points.shape[1:], np.nan)
    finite = finite_2d(points)
    for k in np.flatnonzero(finite.any(axis=0)):
        out[k] = points[np.flatnonzero(finite[:, k])[-1], k]
    return out


def track_costs(xy_px: np.ndarray, group: str, tracks_before: np.ndarray | None = None) -> TrackCosts:
    """The costs ``left_right_swaps`` compares for one limb group, against the tracks (each point where it was
    last seen, in the model's labels). ``tracks_before`` (2K, 2) are the tracks at the frame before ``xy_px``
    (``last_seen`` of the frames before; NaN or None at the clip's start).

    keep = |left - left track| + |right - right track|, swap = |left - right track| + |right - left track|, each
    term summed over the points present in both (NaN where none is); computed point by point on (2K, T) rows
    of each coordinate."""
    left, right = _indices(LIMB_GROUPS[group])
    k = len(left)
    x, y = (np.ascontiguousarray(np.asarray(xy_px[:, left + right, c], dtype=float).T) for c in (0, 1))
    seen = np.isfinite(x) & np.isfinite(y)
    start = np.full((2 * k, 2), np.nan) if tracks_before is None else np.asarray(tracks_before, dtype=float)
    track_x, track_y = _held_before(x, seen, start[:, 0]), _held_before(y, seen, start[:, 1])
    costs = []
    for point, track in (
        (slice(0, k), slice(0, k)),
        (slice(k, 2 * k), slice(k, 2 * k)),
        (slice(0, k), slice(k, 2 * k)),
        (slice(k, 2 * k), slice(0, k)),
    ):
        dx, dy = x[point] - track_x[track], y[point] - track_y[track]
        costs.append(_summed_costs(np.sqrt(dx * dx + dy * dy)))
    return costs[0] + costs[1], costs[2] + costs[3], np.asarray(seen.any(axis=0))


def swaps_from_costs(
    costs: TrackCosts,
    ratio: float = 0.5,
    min_gain_px: float = 8.0,
    max_run: int = 10,
    allowed: np.ndarray | None = None,
) -> np.ndarray:
    """(T,) bool: the frames whose labels swap, given the whole clip's ``track_costs`` (see ``left_right_swaps``)."""
    keep, swap, seen = costs
    may = np.ones(seen.shape[0], dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    return _swap_states(
        _better(keep, swap, ratio, min_gain_px), _better(swap, keep, ratio, min_gain_px), seen, may, max_run
    )


def apply_swaps(xy_px: np.ndarray, visibility: np.ndarray, swapped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``xy_px`` (T, 33, 2) and ``visibility`` (T, 33) with each limb group's left and right points
    (and visibilities) exchanged in the frames ``swapped`` (T, n_groups) marks."""
    xy0 = np.asarray(xy_px, dtype=float)
    vis0 = np.asarray(visibility, dtype=float)
    xy, vis = xy0.copy(), vis0.copy()
    for g, group in enumerate(LIMB_GROUPS.values()):
        left, right = _indices(group)
        rows, to, source = np.flatnonzero(swapped[:, g])[:, None], np.array(left + right), np.array(right + left)
        xy[rows, to], vis[rows, to] = xy0[rows, source], vis0[rows, source]
    return xy, vis


LIMB_CHAINS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "leg": ("HIP", "KNEE", "ANKLE", ("HEEL", "FOOT_INDEX")),
    "arm": ("SHOULDER", "ELBOW", "WRIST", ("PINKY", "INDEX", "THUMB")),
}
"""Per limb group: root, middle and end joint, and the points that travel with the end joint."""

GLITCH_SEGMENTS: tuple[tuple[str, str], ...] = tuple(
    pair
    for root, middle, end, _ in LIMB_CHAINS.values()
    for side in ("LEFT", "RIGHT")
    for pair in ((f"{side}_{root}", f"{side}_{middle}"), (f"{side}_{middle}", f"{side}_{end}"))
)
"""The segments (landmark name pairs) whose image lengths ``limb_glitches`` judges."""


def segment_length_px(xy_px: np.ndarray, a: str, b: str) -> np.ndarray:
    """(T,) image length in pixels of the segment between landmarks ``a`` and ``b`` (NaN where one is missing)."""
    return length_2d(xy_px[:, int(L[a])] - xy_px[:, int(L[b])])


def clip_reference_px(lengths_px: np.ndarray) -> float:
    """A clip's reference length of a segment: the 90th percentile of its finite image lengths (NaN if none)."""
    finite = lengths_px[np.isfinite(lengths_px)]
    return float(np.percentile(finite, 90)) if finite.size else float("nan")


def segment_length_ratio(xy_px: np.ndarray, a: str, b: str, reference_px: float | None = None) -> np.ndarray:
    """(T,) image length of the segment between landmarks ``a`` and ``b`` over a reference length.

    The reference is given (e.g. from a neutral capture) or the 90th percentile of the clip's own
    lengths. A limb moving in the image plane keeps a ratio near 1; under about 0.8 it points toward
    or away from the camera (foreshortened) or one of its landmarks is misplaced.
    """
    length = segment_length_px(xy_px, a, b)
    if reference_px is None:
        reference_px = clip_reference_px(length)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(length / reference_px)


def _short_runs(mask: np.ndarray, max_len: int) -> np.ndarray:
    """``mask`` kept only in runs of at most ``max_len`` consecutive True frames."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(mask, dtype=np.int8), [0]])))
    starts, stops = edges[::2], edges[1::2]
    short = stops - starts <= max_len
    step = np.zeros(mask.size + 1, dtype=int)
    np.add.at(step, starts[short], 1)
    np.add.at(step, stops[short], -1)
    return np.asarray(np.cumsum(step[:-1]) > 0)


def limb_glitches(
    xy_px: np.ndarray,
    t_s: np.ndarray,
    tolerance: float = LIMB_GLITCH_TOLERANCE,
    max_run_s: float = LIMB_GLITCH_MAX_RUN_S,
    allowed: np.ndarray | None = None,
    reference_px: dict[tuple[str, str], float] | None = None,
    dt_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The limb landmarks that leave their limb's length for a moment, to blank.

    In side views the model sometimes puts a raised leg's knee between the two legs for a few
    frames; no label swap repairs that, but the thigh then looks a quarter shorter. For each limb, a
    segment whose length ratio (``segment_length_ratio``) is off 1 by more than ``tolerance`` marks
    its distal joint as misplaced: the middle joint when the upper segment is off, else the end joint
    and the points that travel with it. Only runs of at most ``max_run_s`` count: a longer one
    is a limb really turned toward the camera, which the per-frame flags report instead. ``allowed``
    (T,) limits blanking to some frames (romcam passes those not seen front-on, where an arm's image
    length changes with its elevation). ``reference_px`` gives the segments' reference lengths by
    ``GLITCH_SEGMENTS`` pair and ``dt_s`` the frame interval (both: of the whole clip when ``xy_px`` is a
    stretch of it); by default they are ``xy_px``'s own.

    Returns
    -------
    misplaced : (T, 33) bool, the points to blank (short gaps are filled later by interpolation).
    glitched : (T, n_groups) bool, True where a point of the group is misplaced (``LIMB_GROUPS`` order).
    """
    misplaced = np.zeros(xy_px.shape[:2], dtype=bool)
    glitched = np.zeros((xy_px.shape[0], len(LIMB_GROUPS)), dtype=bool)
    t = np.asarray(t_s, dtype=float)
    if dt_s is None:
        dt_s = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    max_len = max(1, int(round(max_run_s / dt_s)))
    for g, group in enumerate(LIMB_GROUPS):
        root, middle, end, followers = LIMB_CHAINS[group]
        for side in ("LEFT", "RIGHT"):
            upper, lower = (f"{side}_{root}", f"{side}_{middle}"), (f"{side}_{middle}", f"{side}_{end}")
            refs = reference_px or {}
            with np.errstate(invalid="ignore"):
                upper_off = np.abs(segment_length_ratio(xy_px, *upper, refs.get(upper)) - 1) > tolerance
                lower_off = np.abs(segment_length_ratio(xy_px, *lower, refs.get(lower)) - 1) > tolerance
            bad_middle = _short_runs(upper_off, max_len)
            bad_end = _short_runs(lower_off & ~upper_off, max_len)
            if allowed is not None:
                bad_middle, bad_end = bad_middle & allowed, bad_end & allowed
            misplaced[:, int(L[f"{side}_{middle}"])] |= bad_middle
            for name in (end, *followers):
                misplaced[:, int(L[f"{side}_{name}"])] |= bad_end
            glitched[:, g] |= bad_middle | bad_end
    return misplaced, glitched
