"""Which way the camera sees the person, from 2D landmarks (numpy only)."""

from __future__ import annotations

import numpy as np

from romcam.kinematics.angles import forward_vector, trunk_down_vector
from romcam.kinematics.geometry import component_perpendicular, finite_2d, length_2d
from romcam.landmarks import Landmark as L

FRONT_MIN_RATIO = 0.45
SIDE_MAX_RATIO = 0.25

PLANE_VIEW = {"sagittal": "side", "frontal": "front"}
"""The camera view each anatomical plane needs (an angle of plane "any" needs none)."""


def shoulder_width_ratio(xy_px: np.ndarray, trunk_down: np.ndarray | None = None) -> np.ndarray:
    """(T,) shoulder width across the trunk axis divided by the trunk length (mid-shoulder to mid-hip).

    About 0.6-0.8 facing the camera, under 0.2 side-on. ``trunk_down`` is ``trunk_down_vector(xy_px)`` where the
    caller has it.
    """
    axis = trunk_down_vector(xy_px) if trunk_down is None else trunk_down
    across = component_perpendicular(xy_px[:, int(L.LEFT_SHOULDER)] - xy_px[:, int(L.RIGHT_SHOULDER)], axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(length_2d(across) / length_2d(axis))


VIEW_NAMES = ("", "front", "side", "oblique")
"""The views by code (``view_codes``): unknown (landmarks missing), front (or back), side, oblique."""


def view_codes(
    xy_px: np.ndarray, trunk_down: np.ndarray | None = None, forward: np.ndarray | None = None
) -> np.ndarray:
    """(T,) int8 index into ``VIEW_NAMES`` of each frame's view (see ``classify_view``). ``trunk_down`` and
    ``forward`` are ``trunk_down_vector`` and ``forward_vector`` of ``xy_px`` where the caller has them."""
    axis = trunk_down_vector(xy_px) if trunk_down is None else trunk_down
    ratio = shoulder_width_ratio(xy_px, axis)
    facing_known = finite_2d(forward_vector(xy_px, trunk_down=axis) if forward is None else forward)
    out = np.full(ratio.shape, VIEW_NAMES.index("oblique"), dtype=np.int8)
    with np.errstate(invalid="ignore"):
        out[ratio >= FRONT_MIN_RATIO] = VIEW_NAMES.index("front")
        out[(ratio <= SIDE_MAX_RATIO) & facing_known] = VIEW_NAMES.index("side")
    out[~np.isfinite(ratio)] = VIEW_NAMES.index("")
    return out


def view_names(codes: np.ndarray) -> np.ndarray:
    """(T,) object array of the view names of ``view_codes``."""
    return np.asarray(np.array(VIEW_NAMES, dtype=object)[codes])


def classify_view(xy_px: np.ndarray) -> np.ndarray:
    """(T,) "front" (or back), "side", "oblique", or "" where the landmarks are missing: "front" where the
    shoulder width across the trunk is at least ``FRONT_MIN_RATIO`` of the trunk length, "side" where it is at
    most ``SIDE_MAX_RATIO`` and the facing is known (``forward_vector``), "oblique" between."""
    return view_names(view_codes(xy_px))


def dominant_view(views: np.ndarray) -> tuple[str, float]:
    """The most common view among frames that have one, and its share of those frames."""
    every = np.asarray(views, dtype=object)
    known = every[every != ""]
    if known.size == 0:
        return "", 0.0
    names, counts = np.unique(known.astype(str), return_counts=True)
    i = int(np.argmax(counts))
    return str(names[i]), float(counts[i] / known.size)


VIEWS = ("front", "oblique", "side")
"""The views ``classify_view`` names, in the order that breaks a tie in ``dominant_view``."""


def view_code_masks(codes: np.ndarray) -> dict[str, np.ndarray]:
    """(T,) bool per name of ``VIEWS``: where the view codes ``codes`` (``view_codes``) are that view, compared
    once for many questions (``dominant_view_within``)."""
    return {view: np.asarray(codes == VIEW_NAMES.index(view)) for view in VIEWS}


def dominant_view_within(masks: dict[str, np.ndarray], within: np.ndarray) -> tuple[str, float]:
    """``dominant_view`` of the frames ``within`` (T,) bool, from the ``view_code_masks`` of every frame."""
    counts = [np.count_nonzero(masks[view] & within) for view in VIEWS]
    total = sum(counts)
    if total == 0:
        return "", 0.0
    i = int(np.argmax(counts))
    return VIEWS[i], counts[i] / total


def shoulder_hiking_ratio(xy_px: np.ndarray, side: str) -> np.ndarray:
    """(T,) distance from the ear down to the shoulder along the trunk axis, divided by the trunk length.

    It shrinks when the shoulder hikes toward the ear; compensation rules compare it with the
    trial's start (``drop``) or use ``shoulder_hiking`` = 1 - ratio / ratio at rest.
    """
    s = "LEFT" if side == "left" else "RIGHT"
    axis = trunk_down_vector(xy_px)
    length = length_2d(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = axis / length[:, None]
        drop = np.sum((xy_px[:, int(L[f"{s}_SHOULDER"])] - xy_px[:, int(L[f"{s}_EAR"])]) * unit, axis=-1)
        return np.asarray(drop / length)
