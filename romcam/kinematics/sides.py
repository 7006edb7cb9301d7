"""Repairing left/right label swaps of the limbs, which single-camera pose makes in side views (numpy only)."""

from __future__ import annotations

import numpy as np

from romcam.landmarks import Landmark as L

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
    xy_px: np.ndarray, visibility: np.ndarray, ratio: float = 0.5, min_gain_px: float = 8.0, max_run: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Swap a limb's left and right labels in frames where the swapped labels continue the previous
    frame's tracks much better than the given ones.

    For each group (legs, arms) and frame ``t``: ``keep`` = distance of the left points to the left
    track plus right to right (tracks = the repaired previous frame), ``swap`` = left to right plus
    right to left. The labels are swapped when ``swap < ratio * keep`` and ``keep - swap > min_gain_px``,
    so crossing limbs (where both costs are alike) are never swapped. A label flip lasts a few frames;
    a run of more than ``max_run`` swapped frames is a real movement the tracks missed, so it is undone
    and the tracks restart from the model's labels.

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
            if track is not None and _better_swapped(xy0[t, both], track, len(left), ratio, min_gain_px):
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
