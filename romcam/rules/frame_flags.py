"""Per-frame reasons not to trust an angle value (numpy only).

Every reported angle value carries the set of reasons that apply at its frame, as short codes:

- ``view``: the frame is not seen from the view the angle's plane needs (side-on for sagittal
  angles, front-on for frontal ones);
- ``far_side``: a side view, and the limb is on the side away from the camera (hidden behind the body);
- ``foreshortened``: one of the angle's segments is shorter than ``FORESHORTENED_RATIO`` of its
  reference length, so the limb is turned toward or away from the camera;
- ``repaired``: the limb's left/right labels were swapped back at this frame;
- ``interpolated``: a landmark of the angle was missing or misplaced here, the value is interpolated;
- ``jump``: the unfiltered value leaves its running median by more than ``JUMP_DEG`` (a momentary
  landmark error the filter smooths but does not remove), and the frames the filter spreads it to.

A value without codes was measured from the right view on a limb in the image plane.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from romcam.kinematics.angles import REGISTRY, JointAngle, forward_vector, trunk_down_vector
from romcam.kinematics.sides import LIMB_GROUPS, segment_length_ratio
from romcam.landmarks import Landmark as L
from romcam.results import FlagCode
from romcam.rules.view import PLANE_VIEW, classify_view
from romcam.thresholds import FORESHORTENED_RATIO, JUMP_DEG, JUMP_HALF_WINDOW_S

WINDOW_CODES = (FlagCode.FAR_SIDE, FlagCode.FORESHORTENED, FlagCode.INTERPOLATED)
"""The codes a result over a window of frames (a clip, a trial's hold) carries when most frames have them."""


def angle_jumps(
    values_deg: np.ndarray,
    t_s: np.ndarray,
    half_window_s: float = JUMP_HALF_WINDOW_S,
    spread_s: float = 0.1,
    limit_deg: float = JUMP_DEG,
) -> np.ndarray:
    """(T,) True where an unfiltered angle series leaves its running median (within ``half_window_s``
    either side) by more than ``limit_deg``, widened by ``spread_s`` either side (the reach of the
    smoothing filter). Smooth movement stays near its running median: a 0-120-0 degree cycle in 1.5 s
    peaks 5 degrees above it; only a full-range cycle within about a second reaches the limit."""
    v = np.asarray(values_deg, dtype=float)
    t = np.asarray(t_s, dtype=float)
    lo = np.searchsorted(t, t - half_window_s, side="left")
    hi = np.searchsorted(t, t + half_window_s, side="right")
    jump = np.zeros(v.shape, dtype=bool)
    for i in np.flatnonzero(np.isfinite(v)):
        window = v[lo[i] : hi[i]]
        jump[i] = abs(v[i] - np.nanmedian(window)) > limit_deg
    wide = jump.copy()
    lo_s = np.searchsorted(t, t - spread_s, side="left")
    hi_s = np.searchsorted(t, t + spread_s, side="right")
    for i in np.flatnonzero(jump):
        wide[lo_s[i] : hi_s[i]] = True
    return wide


def near_side(xy_px: np.ndarray) -> np.ndarray:
    """(T,) "left" or "right": the side of the body facing the camera in a side view; "" otherwise.

    With image axes x right and y down, forward ``f`` (nose ahead of the ears) and up ``u`` (mid-hip
    to mid-shoulder) span the image plane, and the person's right points along ``f x u`` (3D cross
    product, z into the image). ``f_x u_y - f_y u_x > 0`` puts the right side away from the camera,
    so the left side faces it. A mirrored video must be un-mirrored first.
    """
    f = forward_vector(xy_px)
    u = -trunk_down_vector(xy_px)
    cross = f[:, 0] * u[:, 1] - f[:, 1] * u[:, 0]
    out = np.full(cross.shape, "", dtype=object)
    with np.errstate(invalid="ignore"):
        out[cross > 0] = "left"
        out[cross < 0] = "right"
    return out


@dataclass(frozen=True)
class FrameEvidence:
    """What is known per frame about the landmarks behind the angles.

    Attributes
    ----------
    views : (T,) "front", "side", "oblique" or "" (``rules.view.classify_view``).
    near : (T,) the side facing the camera in side views (``near_side``).
    swapped : (T, n_groups) limb labels repaired (``LIMB_GROUPS`` order).
    blank : (T, 33) landmark missing (undetected, hidden or misplaced) before gap filling.
    reference_px : segment reference lengths by (landmark, landmark) name pair; missing pairs use
        the clip's own 90th percentile.
    jumps : per angle name, (T,) ``angle_jumps`` of its unfiltered series (absent: no jump flags).
    """

    views: np.ndarray
    near: np.ndarray
    swapped: np.ndarray
    blank: np.ndarray
    reference_px: dict[tuple[str, str], float]
    jumps: dict[str, np.ndarray] = field(default_factory=dict)


def frame_evidence(
    xy_px: np.ndarray,
    blank: np.ndarray,
    swapped: np.ndarray | None = None,
    neutral_lengths_px: dict[str, float] | None = None,
) -> FrameEvidence:
    """Evidence from cleaned landmarks ``xy_px`` (views, near side), the (T, 33) ``blank`` mask, the
    repaired-label mask (none by default) and a neutral capture's segment lengths by angle name
    (vertex to distal landmark)."""
    reference = {}
    for name, length in (neutral_lengths_px or {}).items():
        d = REGISTRY.get(name)
        if d is not None:
            reference[(d.vertex.name, d.distal.name)] = float(length)
    return FrameEvidence(
        views=classify_view(xy_px),
        near=near_side(xy_px),
        swapped=swapped if swapped is not None else np.zeros((xy_px.shape[0], len(LIMB_GROUPS)), dtype=bool),
        blank=np.asarray(blank, dtype=bool),
        reference_px=reference,
    )


def _group_of(lm: L) -> int | None:
    name = lm.name.split("_", 1)[1] if lm.name.startswith(("LEFT_", "RIGHT_")) else ""
    for g, members in enumerate(LIMB_GROUPS.values()):
        if name in members:
            return g
    return None


def angle_frame_flags(d: JointAngle, xy_px: np.ndarray, evidence: FrameEvidence) -> dict[str, np.ndarray]:
    """(T,) bool mask per flag code for angle ``d`` measured on the cleaned landmarks ``xy_px``."""
    n = xy_px.shape[0]
    points = (d.vertex, d.proximal, d.distal)
    flags = {str(code): np.zeros(n, dtype=bool) for code in FlagCode}
    needed = PLANE_VIEW.get(d.plane)
    if needed is not None:
        flags["view"] = (evidence.views != needed) & (evidence.views != "")
    if d.side:
        flags["far_side"] = (evidence.views == "side") & (evidence.near != "") & (evidence.near != d.side)
        for a, b in ((d.proximal, d.vertex), (d.vertex, d.distal)):
            ratio = segment_length_ratio(xy_px, a.name, b.name, evidence.reference_px.get((a.name, b.name)))
            with np.errstate(invalid="ignore"):
                flags["foreshortened"] |= ratio < FORESHORTENED_RATIO
    for lm in points:
        g = _group_of(lm)
        if g is not None:
            flags["repaired"] |= evidence.swapped[:, g]
    flags["interpolated"] = np.asarray(evidence.blank[:, [int(p) for p in points]].any(axis=1))
    if d.name in evidence.jumps:
        flags["jump"] = evidence.jumps[d.name]
    return flags


def flag_text(flags: dict[str, np.ndarray], measured: np.ndarray) -> list[str]:
    """Per frame, the codes that apply joined by ";" ("" for a clean value or no value)."""
    codes = [str(c) for c in FlagCode if c in flags]
    return [";".join(c for c in codes if flags[c][t]) if measured[t] else "" for t in range(measured.shape[0])]


def flagged_any(flags: dict[str, np.ndarray]) -> np.ndarray:
    """(T,) True where any code applies."""
    return np.logical_or.reduce([np.asarray(m, dtype=bool) for m in flags.values()])


def all_angle_flags(names: list[str], xy_px: np.ndarray, evidence: FrameEvidence) -> dict[str, dict[str, np.ndarray]]:
    """``angle_frame_flags`` for every named angle."""
    return {name: angle_frame_flags(REGISTRY[name], xy_px, evidence) for name in names}


def window_flag_codes(flags: dict[str, np.ndarray], window: np.ndarray) -> list[FlagCode]:
    """The ``WINDOW_CODES`` that mark more than half the frames of ``window``."""
    if not window.any():
        return []
    return [code for code in WINDOW_CODES if code in flags and flags[code][window].mean() > 0.5]


def live_doubt(angle_name: str, xy_px: np.ndarray) -> FlagCode | None:
    """Why one live frame's value of ``angle_name`` is not to be trusted (None when nothing is wrong):
    ``VIEW`` when the camera does not face the angle's plane, ``FAR_SIDE`` when the limb is on the far side of
    a side view. ``xy_px`` is one frame's (33, 2) cleaned landmarks."""
    if angle_name not in REGISTRY:
        return None
    d = REGISTRY[angle_name]
    view = str(classify_view(xy_px[None])[0])
    needed = PLANE_VIEW.get(d.plane)
    if needed is not None and view and view != needed:
        return FlagCode.VIEW
    near = str(near_side(xy_px[None])[0])
    if d.side and view == "side" and near and near != d.side:
        return FlagCode.FAR_SIDE
    return None
