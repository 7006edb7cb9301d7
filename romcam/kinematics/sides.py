"""Repairing left/right label swaps of the limbs, which single-camera pose makes in side views (numpy only)."""

from __future__ import annotations

import numpy as np

from romcam.landmarks import Landmark as L
from romcam.thresholds import LIMB_GLITCH_MAX_RUN_S, LIMB_GLITCH_TOLERANCE

LIMB_GROUPS: dict[str, tuple[str, ...]] = {
    "leg": ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX"),
    "arm": ("ELBOW", "WRIST", "PINKY", "INDEX", "THUMB"),
}
"""Landmarks whose left/right labels are swapped together (hips and shoulders keep theirs)."""


def _indices(group: tuple[str, ...]) -> tuple[list[int], list[int]]:
    return [int(L[f"LEFT_{n}"]) for n in group], [int(L[f"RIGHT_{n}"]) for n in group]


def _cost(a: np.ndarray, b: np.ndarray) -> float:
    """Summed distance between matching finite points of two (K, 2) arrays; NaN if none match."""
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(d.sum()) if d.size else float("nan")


def repair_left_right(
    xy_px: np.ndarray,
    visibility: np.ndarray,
    ratio: float = 0.5,
    min_gain_px: float = 8.0,
    max_run: int = 10,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swap a limb's left and right labels in frames where the swapped labels continue the previous
    frame's tracks much better than the given ones.

    For each group (legs, arms) and frame ``t``: ``keep`` = distance of the left points to the left
    track plus right to right (tracks = the repaired previous frame), ``swap`` = left to right plus
    right to left. The labels are swapped when ``swap < ratio * keep`` and ``keep - swap > min_gain_px``,
    so crossing limbs (where both costs are alike) are never swapped. A label flip lasts a few frames;
    a run of more than ``max_run`` swapped frames is a real movement the tracks missed, so it is undone
    and the tracks restart from the model's labels. ``allowed`` (T,) limits swapping to some frames
    (romcam passes the frames not seen front-on: facing the camera the labels follow the face and
    trunk, and a limb the model drops near the other one must not drag the tracks across).

    Returns
    -------
    xy_px, visibility : repaired copies.
    swapped : (T, n_groups) bool, True where a group was swapped (columns in ``LIMB_GROUPS`` order).
    """
    xy0 = np.asarray(xy_px, dtype=float)
    vis0 = np.asarray(visibility, dtype=float)
    xy, vis = xy0.copy(), vis0.copy()
    swapped = np.zeros((xy.shape[0], len(LIMB_GROUPS)), dtype=bool)
    for g, group in enumerate(LIMB_GROUPS.values()):
        left, right = _indices(group)
        both, crossed = left + right, right + left
        track: np.ndarray | None = None
        run: list[int] = []
        for t in range(xy.shape[0]):
            may_swap = allowed is None or bool(allowed[t])
            if may_swap and track is not None and _better_swapped(xy0[t, both], track, len(left), ratio, min_gain_px):
                xy[t, both], vis[t, both] = xy0[t, crossed], vis0[t, crossed]
                swapped[t, g] = True
                run.append(t)
                if len(run) > max_run:  # not a flip: give the labels back and follow the model
                    for f in run:
                        xy[f, both], vis[f, both] = xy0[f, both], vis0[f, both]
                        swapped[f, g] = False
                    run = []
            else:
                run = []
            current = xy[t, both]
            if np.isfinite(current).any():
                track = current if track is None else np.where(np.isfinite(current), current, track)
    return xy, vis, swapped


def _better_swapped(now: np.ndarray, track: np.ndarray, n: int, ratio: float, min_gain_px: float) -> bool:
    keep = _cost(now[:n], track[:n]) + _cost(now[n:], track[n:])
    swap = _cost(now[:n], track[n:]) + _cost(now[n:], track[:n])
    return bool(np.isfinite(keep) and np.isfinite(swap) and swap < ratio * keep and keep - swap > min_gain_px)


LIMB_CHAINS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "leg": ("HIP", "KNEE", "ANKLE", ("HEEL", "FOOT_INDEX")),
    "arm": ("SHOULDER", "ELBOW", "WRIST", ("PINKY", "INDEX", "THUMB")),
}
"""Per limb group: root, middle and end joint, and the points that travel with the end joint."""


def segment_length_ratio(xy_px: np.ndarray, a: str, b: str, reference_px: float | None = None) -> np.ndarray:
    """(T,) image length of the segment between landmarks ``a`` and ``b`` over a reference length.

    The reference is given (e.g. from a neutral capture) or the 90th percentile of the clip's own
    lengths. A limb moving in the image plane keeps a ratio near 1; under about 0.8 it points toward
    or away from the camera (foreshortened) or one of its landmarks is misplaced.
    """
    length = np.linalg.norm(xy_px[:, int(L[a])] - xy_px[:, int(L[b])], axis=-1)
    if reference_px is None:
        reference_px = float(np.nanpercentile(length, 90)) if np.isfinite(length).any() else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(length / reference_px)


def _short_runs(mask: np.ndarray, max_len: int) -> np.ndarray:
    """``mask`` kept only in runs of at most ``max_len`` consecutive True frames."""
    out = np.zeros_like(mask)
    t = 0
    while t < mask.size:
        if mask[t]:
            end = t
            while end < mask.size and mask[end]:
                end += 1
            if end - t <= max_len:
                out[t:end] = True
            t = end
        else:
            t += 1
    return out


def remove_limb_glitches(
    xy_px: np.ndarray,
    t_s: np.ndarray,
    tolerance: float = LIMB_GLITCH_TOLERANCE,
    max_run_s: float = LIMB_GLITCH_MAX_RUN_S,
    allowed: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Blank limb landmarks that leave their limb's length for a moment.

    In side views the model sometimes puts a raised leg's knee between the two legs for a few
    frames; no label swap repairs that, but the thigh then looks a quarter shorter. For each limb, a
    segment whose length ratio (``segment_length_ratio``) is off 1 by more than ``tolerance`` marks
    its distal joint as misplaced: the middle joint when the upper segment is off, else the end joint
    and the points that travel with it. Only runs of at most ``max_run_s`` are blanked: a longer one
    is a limb really turned toward the camera, which the per-frame flags report instead. ``allowed``
    (T,) limits blanking to some frames (romcam passes those not seen front-on, where an arm's image
    length changes with its elevation).

    Returns
    -------
    xy_px : copy with the misplaced points set to NaN (short gaps are filled later by interpolation).
    glitched : (T, n_groups) bool, True where a point of the group was blanked (``LIMB_GROUPS`` order).
    """
    xy = np.array(xy_px, dtype=float)
    glitched = np.zeros((xy.shape[0], len(LIMB_GROUPS)), dtype=bool)
    t = np.asarray(t_s, dtype=float)
    dt_s = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    max_len = max(1, int(round(max_run_s / dt_s)))
    for g, group in enumerate(LIMB_GROUPS):
        root, middle, end, followers = LIMB_CHAINS[group]
        for side in ("LEFT", "RIGHT"):
            with np.errstate(invalid="ignore"):
                upper_off = np.abs(segment_length_ratio(xy_px, f"{side}_{root}", f"{side}_{middle}") - 1) > tolerance
                lower_off = np.abs(segment_length_ratio(xy_px, f"{side}_{middle}", f"{side}_{end}") - 1) > tolerance
            bad_middle = _short_runs(upper_off, max_len)
            bad_end = _short_runs(lower_off & ~upper_off, max_len)
            if allowed is not None:
                bad_middle, bad_end = bad_middle & allowed, bad_end & allowed
            xy[bad_middle, int(L[f"{side}_{middle}"])] = np.nan
            for name in (end, *followers):
                xy[bad_end, int(L[f"{side}_{name}"])] = np.nan
            glitched[:, g] |= bad_middle | bad_end
    return xy, glitched
