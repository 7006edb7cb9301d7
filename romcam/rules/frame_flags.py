"""Per-frame reasons not to trust an angle value (numpy only).

Every reported angle value carries the set of reasons that apply at its frame, as short codes:

- ``view``: the frame is not seen from the view the angle's plane needs (side-on for sagittal
  angles, front-on for frontal ones; for knee valgus and hip abduction also the body turned more than
  ``FRONTAL_MAX_YAW_DEG`` from the camera, by the world landmarks);
- ``far_side``: a side view, and the limb is on the side away from the camera (hidden behind the body);
- ``foreshortened``: one of the angle's segments is shorter than ``FORESHORTENED_RATIO`` of its
  reference length (a neutral capture; else the clip's own 90th percentile or, when longer, the length body
  proportions give for the clip's trunk), so the limb is turned toward or away from the camera;
- ``repaired``: the limb's left/right labels were swapped back at this frame;
- ``interpolated``: a landmark of the angle was missing or misplaced here, the value is interpolated;
- ``jump``: the unfiltered or the filtered value leaves its running median by more than ``JUMP_DEG`` and
  three scaled MADs (a momentary landmark error, a Hampel identifier), or the filter moved the value more than
  ``JUMP_DEG``, and the frames the filter spreads it to;
- ``out_of_range``: beyond the joint's physiological limits (``JointAngle.limits_deg``);
- ``bent``: a frontal-plane angle (knee valgus, hip abduction) of a limb bent too far in 3D to be defined.

A value without codes was measured from the right view on a limb in the image plane.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.ndimage import maximum_filter1d

from romcam.kinematics.angles import FORMULAS, REGISTRY, JointAngle, forward_vector, trunk_down_vector
from romcam.kinematics.filters import hampel
from romcam.kinematics.geometry import bend_3d_deg, body_yaw_deg, length_2d
from romcam.kinematics.sides import LIMB_GROUPS, clip_reference_px
from romcam.landmarks import Landmark as L
from romcam.results import FlagCode
from romcam.rules.view import PLANE_VIEW, VIEW_NAMES, classify_view, view_codes
from romcam.thresholds import (
    FORESHORTENED_RATIO,
    FRONTAL_MAX_BEND_DEG,
    FRONTAL_MAX_YAW_DEG,
    JUMP_DEG,
    JUMP_HALF_WINDOW_S,
    JUMP_MAD_FACTOR,
    PROPORTION_ALLOWANCE,
    SEGMENT_TO_TRUNK_RATIO,
)

FrameFlags = dict[str, np.ndarray]
"""(T,) bool mask per flag code (``FlagCode`` value) of one angle."""

WINDOW_CODES = (FlagCode.FAR_SIDE, FlagCode.FORESHORTENED, FlagCode.INTERPOLATED)
"""The codes a result over a window of frames (a clip, a trial's hold) carries when most frames have them."""


def _widen(mask: np.ndarray, half: int) -> np.ndarray:
    """``mask`` (T,) or (T, C) dilated by ``half`` samples either side along time."""
    if half <= 0 or not mask.any():
        return mask.copy()
    return np.asarray(maximum_filter1d(mask.astype(np.uint8), 2 * half + 1, axis=0, mode="constant", cval=0) > 0)


def angle_jumps(
    values_deg: np.ndarray,
    t_s: np.ndarray,
    half_window_s: float = JUMP_HALF_WINDOW_S,
    spread_s: float = 0.1,
    limit_deg: float = JUMP_DEG,
) -> np.ndarray:
    """(T,) True where an angle series leaves its running median (within ``half_window_s`` either side)
    by more than ``limit_deg`` and by more than ``JUMP_MAD_FACTOR`` scaled median absolute deviations
    (``kinematics.filters.hampel``: a Hampel identifier with a floor), widened by ``spread_s`` either side
    (the reach of the smoothing filter). A (T, C) array is C series, judged each on its own.

    A still or slowly moving limb has a small spread, so a momentary landmark error stands out; a fast
    full-range movement spreads its window widely and is left alone. Windows are counted in samples at the
    median frame interval; vectorised, so an hour of frames takes well under a second.
    """
    v = np.asarray(values_deg, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if v.shape[0] < 3:
        return np.zeros(v.shape, dtype=bool)
    dt_s = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    half = max(1, int(round(half_window_s / dt_s))) if dt_s > 0 else 1
    jump = hampel(v.reshape(v.shape[0], -1), half, limit_deg, JUMP_MAD_FACTOR)
    return _widen(jump, max(0, int(round(spread_s / dt_s))) if dt_s > 0 else 0).reshape(v.shape)


def filter_jumps(unfiltered_deg: np.ndarray, filtered_deg: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    """(T,) jumps judged on the unfiltered series, on the filtered one, and where the filter moved a value
    more than ``JUMP_DEG`` away from the unfiltered value (an error spread by the filter, or its ringing
    next to a cut or a gap). (T, C) arrays are C angles, judged each on its own."""
    raw, smooth = np.asarray(unfiltered_deg, dtype=float), np.asarray(filtered_deg, dtype=float)
    with np.errstate(invalid="ignore"):
        moved = np.abs(smooth - raw) > JUMP_DEG
    both = angle_jumps(np.stack([raw, smooth], axis=-1), t_s)
    return np.asarray(both[..., 0] | both[..., 1] | moved)


def all_filter_jumps(
    unfiltered_deg: dict[str, np.ndarray], filtered_deg: dict[str, np.ndarray], t_s: np.ndarray
) -> dict[str, np.ndarray]:
    """``filter_jumps`` of every angle of ``unfiltered_deg`` (name -> series) against its ``filtered_deg``, all
    angles in one pass."""
    names = list(unfiltered_deg)
    if not names:
        return {}
    raw = np.stack([unfiltered_deg[n] for n in names], axis=1)
    jumps = filter_jumps(raw, np.stack([filtered_deg[n] for n in names], axis=1), t_s)
    rows = np.ascontiguousarray(jumps.T)  # each angle's mask contiguous
    return {name: rows[i] for i, name in enumerate(names)}


def out_of_range(d: JointAngle, values_deg: np.ndarray) -> np.ndarray:
    """(T,) True where a value of angle ``d`` lies outside its physiological limits (``d.limits_deg``)."""
    v = np.asarray(values_deg, dtype=float)
    if d.limits_deg is None:
        return np.zeros(v.shape, dtype=bool)
    lo, hi = d.limits_deg
    with np.errstate(invalid="ignore"):
        return np.asarray((v < lo) | (v > hi))


NEAR_NAMES = ("", "left", "right")
"""The near sides by code (``near_codes``)."""


def near_codes(
    xy_px: np.ndarray, trunk_down: np.ndarray | None = None, forward: np.ndarray | None = None
) -> np.ndarray:
    """(T,) int8 index into ``NEAR_NAMES`` of the side facing the camera (see ``near_side``). ``trunk_down`` and
    ``forward`` are ``trunk_down_vector`` and ``forward_vector`` of ``xy_px`` where the caller has them."""
    axis = trunk_down_vector(xy_px) if trunk_down is None else trunk_down
    f = forward_vector(xy_px, trunk_down=axis) if forward is None else forward
    cross = f[:, 0] * -axis[:, 1] + f[:, 1] * axis[:, 0]  # f x u with u = -axis, the trunk's upward direction
    out = np.zeros(cross.shape, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        out[cross > 0] = NEAR_NAMES.index("left")
        out[cross < 0] = NEAR_NAMES.index("right")
    return out


def near_side(xy_px: np.ndarray) -> np.ndarray:
    """(T,) "left" or "right": the side of the body facing the camera in a side view; "" otherwise.

    With image axes x right and y down, forward ``f`` (nose ahead of the ears) and up ``u`` (mid-hip
    to mid-shoulder) span the image plane, and the person's right points along ``f x u`` (3D cross
    product, z into the image). ``f_x u_y - f_y u_x > 0`` puts the right side away from the camera,
    so the left side faces it. A mirrored video must be un-mirrored first.
    """
    return np.asarray(np.array(NEAR_NAMES, dtype=object)[near_codes(xy_px)])


@dataclass(frozen=True)
class FrameEvidence:
    """What is known per frame about the landmarks behind the angles.

    Attributes
    ----------
    view_code : (T,) int8 index into ``VIEW_NAMES`` of each frame's view (``rules.view.view_codes``).
    near_code : (T,) int8 index into ``NEAR_NAMES`` of the side facing the camera in side views (``near_codes``).
    swapped : (T, n_groups) limb labels repaired (``LIMB_GROUPS`` order).
    blank : (T, 33) landmark missing (undetected, hidden or misplaced) before gap filling.
    reference_px : segment reference lengths by (landmark, landmark) name pair; missing pairs use
        the clip's own 90th percentile.
    jumps : per angle name, (T,) ``filter_jumps`` of its series (absent: no jump flags).
    trunk_px : the clip's trunk length (90th percentile, mid-shoulder to mid-hip) that limb lengths are
        compared with through body proportions (NaN: no such check).
    world_m : (T, 33, 3) MediaPipe world landmarks, for the 3D bend of limbs (None: no such check).
    clip_lengths_px : the clip's own reference lengths (``clip_reference_px``) by (landmark, landmark) name pair,
        where they were measured over a longer stretch than ``xy_px`` (a long clip judged in blocks); a pair
        missing here is measured on the ``xy_px`` judged.
    """

    view_code: np.ndarray
    near_code: np.ndarray
    swapped: np.ndarray
    blank: np.ndarray
    reference_px: dict[tuple[str, str], float]
    jumps: dict[str, np.ndarray] = field(default_factory=dict)
    trunk_px: float = float("nan")
    world_m: np.ndarray | None = None
    clip_lengths_px: dict[tuple[str, str], float] = field(default_factory=dict)

    @cached_property
    def view_is(self) -> dict[str, np.ndarray]:
        """(T,) bool per view ("front", "side", "oblique", "" unknown), computed once for every angle."""
        return {view: np.asarray(self.view_code == i) for i, view in enumerate(VIEW_NAMES)}

    @cached_property
    def body_yaw_deg(self) -> np.ndarray | None:
        """(T,) ``body_yaw_deg`` of ``world_m`` (None without it), computed once for every angle."""
        return None if self.world_m is None else body_yaw_deg(np.asarray(self.world_m, dtype=float))

    @cached_property
    def near_is(self) -> dict[str, np.ndarray]:
        """(T,) bool per near side ("left", "right", "" none), computed once for every angle."""
        return {side: np.asarray(self.near_code == i) for i, side in enumerate(NEAR_NAMES)}


SEGMENTS: dict[frozenset[str], str] = {
    frozenset({"SHOULDER", "ELBOW"}): "upper_arm",
    frozenset({"ELBOW", "WRIST"}): "forearm",
    frozenset({"HIP", "KNEE"}): "thigh",
    frozenset({"KNEE", "ANKLE"}): "shank",
}
"""Limb segments by the (side-less) names of their end landmarks, as named in ``SEGMENT_TO_TRUNK_RATIO``."""


def trunk_length_px(xy_px: np.ndarray) -> float:
    """The 90th percentile over frames of the trunk's image length (mid-shoulder to mid-hip); NaN if never seen."""
    return clip_reference_px(length_2d(trunk_down_vector(xy_px)))


def angle_segments(names: Iterable[str]) -> set[tuple[str, str]]:
    """The (landmark, landmark) name pairs whose lengths ``foreshortened`` judges for the angles ``names``."""
    pairs = set()
    for name in names:
        d = REGISTRY[name]
        if d.side:
            pairs |= {(d.proximal.name, d.vertex.name), (d.vertex.name, d.distal.name)}
    return pairs


def proportion_reference_px(a: L, b: L, trunk_px: float) -> float | None:
    """The shortest in-plane length the segment a-b can have for a body with this trunk length:
    ``SEGMENT_TO_TRUNK_RATIO × PROPORTION_ALLOWANCE × trunk_px``; None for a segment without a ratio."""
    names = frozenset(lm.name.split("_", 1)[1] for lm in (a, b) if lm.name.startswith(("LEFT_", "RIGHT_")))
    segment = SEGMENTS.get(names)
    if segment is None or not np.isfinite(trunk_px):
        return None
    return SEGMENT_TO_TRUNK_RATIO[segment] * PROPORTION_ALLOWANCE * trunk_px


def foreshortened(xy_px: np.ndarray, a: L, b: L, evidence: FrameEvidence) -> np.ndarray:
    """(T,) segment a-b shorter than ``FORESHORTENED_RATIO`` of its reference: a neutral capture's length
    when there is one, else the longer of the clip's own 90th percentile and the body-proportion length."""
    return short_of_reference(length_2d(xy_px[:, int(a)] - xy_px[:, int(b)]), a, b, evidence)


def short_of_reference(length: np.ndarray, a: L, b: L, evidence: FrameEvidence) -> np.ndarray:
    """``foreshortened`` of the segment a-b's lengths ``length`` (T,)."""
    reference = evidence.reference_px.get((a.name, b.name))
    if reference is None:
        reference = evidence.clip_lengths_px.get((a.name, b.name))
        reference = clip_reference_px(length) if reference is None else reference
        by_body = proportion_reference_px(a, b, evidence.trunk_px)
        if by_body is not None and np.isfinite(reference):
            reference = max(reference, by_body)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(length / reference < FORESHORTENED_RATIO)


def frame_evidence(
    xy_px: np.ndarray,
    blank: np.ndarray,
    swapped: np.ndarray | None = None,
    neutral_lengths_px: dict[str, float] | None = None,
    world_m: np.ndarray | None = None,
    trunk_px: float | None = None,
    clip_lengths_px: dict[tuple[str, str], float] | None = None,
    axes: tuple[np.ndarray, np.ndarray] | None = None,
) -> FrameEvidence:
    """Evidence from cleaned landmarks ``xy_px`` (views, near side), the (T, 33) ``blank`` mask, the
    repaired-label mask (none by default) and a neutral capture's segment lengths by angle name
    (vertex to distal landmark). ``trunk_px`` and ``clip_lengths_px`` are the clip's own trunk and segment
    reference lengths where ``xy_px`` is a stretch of a longer clip (by default ``xy_px``'s own); ``axes`` are
    ``trunk_down_vector`` and ``forward_vector`` of ``xy_px`` where the caller has them (the angles'
    ``BodyAxes``)."""
    reference = {}
    for name, length in (neutral_lengths_px or {}).items():
        d = REGISTRY.get(name)
        if d is not None:
            reference[(d.vertex.name, d.distal.name)] = float(length)
    if axes is None:
        axis = trunk_down_vector(xy_px)
        axes = axis, forward_vector(xy_px, trunk_down=axis)
    axis, forward = axes
    return FrameEvidence(
        view_code=view_codes(xy_px, axis, forward),
        near_code=near_codes(xy_px, axis, forward),
        swapped=swapped if swapped is not None else np.zeros((xy_px.shape[0], len(LIMB_GROUPS)), dtype=bool),
        blank=np.asarray(blank, dtype=bool),
        reference_px=reference,
        trunk_px=trunk_length_px(xy_px) if trunk_px is None else trunk_px,
        world_m=world_m,
        clip_lengths_px=dict(clip_lengths_px or {}),
    )


def _group_of(lm: L) -> int | None:
    name = lm.name.split("_", 1)[1] if lm.name.startswith(("LEFT_", "RIGHT_")) else ""
    for g, members in enumerate(LIMB_GROUPS.values()):
        if name in members:
            return g
    return None


def angle_frame_flags(
    d: JointAngle,
    xy_px: np.ndarray,
    evidence: FrameEvidence,
    values_deg: np.ndarray | None = None,
    short: dict[tuple[L, L], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """(T,) bool mask per flag code for angle ``d`` measured on the cleaned landmarks ``xy_px``; ``values_deg``
    are its values there when the caller has them (else they are computed), ``short`` the ``foreshortened``
    masks of segments (landmark pairs) the caller has already judged."""
    n = xy_px.shape[0]
    points = (d.vertex, d.proximal, d.distal)
    flags = {str(code): np.zeros(n, dtype=bool) for code in FlagCode}
    needed = PLANE_VIEW.get(d.plane)
    if needed is not None:
        flags["view"] = ~evidence.view_is[needed] & ~evidence.view_is[""]
    if d.side:
        flags["far_side"] = evidence.view_is["side"] & ~evidence.near_is[""] & ~evidence.near_is[d.side]
        flags["foreshortened"] = limb_foreshortened(d, xy_px, evidence, short)
    for lm in points:
        g = _group_of(lm)
        if g is not None:
            flags["repaired"] |= evidence.swapped[:, g]
    flags["interpolated"] = np.asarray(evidence.blank[:, [int(p) for p in points]].any(axis=1))
    if d.name in evidence.jumps:
        flags["jump"] = evidence.jumps[d.name]
    if values_deg is None:
        with np.errstate(invalid="ignore"):
            values_deg = FORMULAS[d.kind](xy_px, d)
    flags["out_of_range"] = out_of_range(d, values_deg)
    if evidence.world_m is not None and d.name.removeprefix(f"{d.side}_") in FRONTAL_MAX_BEND_DEG:
        flags["bent"] = too_bent(d, evidence.world_m)
        flags["view"] |= turned_from_frontal(d, evidence.world_m, evidence.body_yaw_deg)
    return flags


def limb_foreshortened(
    d: JointAngle, xy_px: np.ndarray, evidence: FrameEvidence, short: dict[tuple[L, L], np.ndarray] | None = None
) -> np.ndarray:
    """(T,) either segment of limb angle ``d`` (proximal-vertex, vertex-distal) ``foreshortened``; ``short`` holds
    the masks of segments already judged."""
    out = np.zeros(xy_px.shape[0], dtype=bool)
    for a, b in ((d.proximal, d.vertex), (d.vertex, d.distal)):
        segment = (short or {}).get((a, b))
        out |= foreshortened(xy_px, a, b, evidence) if segment is None else segment
    return out


def turned_from_frontal(d: JointAngle, world_m: np.ndarray, yaw_deg: np.ndarray | None = None) -> np.ndarray:
    """(T,) True where a lower-limb frontal-plane angle (those of ``FRONTAL_MAX_BEND_DEG``) is seen with the body
    turned more than ``FRONTAL_MAX_YAW_DEG`` from the camera; False for other angles. ``yaw_deg`` is
    ``body_yaw_deg(world_m)`` where the caller has it."""
    w = np.asarray(world_m, dtype=float)
    if d.name.removeprefix(f"{d.side}_") not in FRONTAL_MAX_BEND_DEG or w.size == 0:
        return np.zeros(w.shape[0], dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(np.abs(body_yaw_deg(w) if yaw_deg is None else yaw_deg) > FRONTAL_MAX_YAW_DEG)


def too_bent(d: JointAngle, world_m: np.ndarray) -> np.ndarray:
    """(T,) True where a frontal-plane limb angle is not defined: its limb bent more than
    ``FRONTAL_MAX_BEND_DEG`` in 3D (knee flexion for knee valgus, hip flexion for hip abduction). ``world_m``
    is (T, 33, 3); False for other angles and where the world landmarks are missing."""
    limit = FRONTAL_MAX_BEND_DEG.get(d.name.removeprefix(f"{d.side}_"))
    w = np.asarray(world_m, dtype=float)
    if limit is None or w.size == 0:
        return np.zeros(w.shape[0], dtype=bool)
    bend = bend_3d_deg(w[:, int(d.proximal)], w[:, int(d.vertex)], w[:, int(d.distal)])
    with np.errstate(invalid="ignore"):
        return np.asarray(bend > limit)


def flag_text(flags: dict[str, np.ndarray], measured: np.ndarray) -> list[str]:
    """Per frame, the codes that apply joined by ";" ("" for a clean value or no value)."""
    codes = [str(c) for c in FlagCode if c in flags]
    key = np.zeros(measured.shape[0], dtype=np.int64)
    for bit, code in enumerate(codes):
        key |= np.asarray(flags[code], dtype=np.int64) << bit
    key[~np.asarray(measured, dtype=bool)] = 0
    combos, which = np.unique(key, return_inverse=True)
    words = [";".join(c for bit, c in enumerate(codes) if int(k) >> bit & 1) for k in combos]
    return [words[i] for i in np.asarray(which).ravel().tolist()]


def flagged_any(flags: dict[str, np.ndarray]) -> np.ndarray:
    """(T,) True where any code applies."""
    return np.logical_or.reduce([np.asarray(m, dtype=bool) for m in flags.values()])


def all_angle_flags(
    angles_deg: dict[str, np.ndarray],
    xy_px: np.ndarray,
    evidence: FrameEvidence,
    short: dict[tuple[L, L], np.ndarray] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """``angle_frame_flags`` for every angle of ``angles_deg`` (name -> its values on ``xy_px``), each limb segment
    judged for foreshortening once for all the angles that share it (``short``: the masks where the caller has
    them)."""
    short = dict(short or {})
    for name in angles_deg:
        d = REGISTRY[name]
        if d.side:
            for a, b in ((d.proximal, d.vertex), (d.vertex, d.distal)):
                if (a, b) not in short:
                    short[(a, b)] = foreshortened(xy_px, a, b, evidence)
    return {
        name: angle_frame_flags(REGISTRY[name], xy_px, evidence, values, short) for name, values in angles_deg.items()
    }


def window_flag_codes(flags: dict[str, np.ndarray], window: np.ndarray) -> list[FlagCode]:
    """The ``WINDOW_CODES`` that mark more than half the frames of ``window``."""
    size = np.count_nonzero(window)
    if size == 0:
        return []
    return [code for code in WINDOW_CODES if code in flags and 2 * np.count_nonzero(flags[code] & window) > size]


def live_doubt(angle_name: str, xy_px: np.ndarray, world_m: np.ndarray | None = None) -> FlagCode | None:
    """Why one live frame's value of ``angle_name`` is not to be trusted (None when nothing is wrong):
    ``VIEW`` when the camera does not face the angle's plane, ``FAR_SIDE`` when the limb is on the far side of
    a side view, ``FORESHORTENED`` when a limb segment is far shorter than body proportions allow (it points at
    or away from the camera), ``BENT`` for a frontal-plane angle of a limb bent too far (given the frame's
    (33, 3) ``world_m``), ``OUT_OF_RANGE`` beyond physiological limits. ``xy_px`` is one frame's (33, 2)
    cleaned landmarks."""
    if angle_name not in REGISTRY:
        return None
    d = REGISTRY[angle_name]
    one = xy_px[None]
    doubt = _view_doubt(d, one) or (_proportion_doubt(d, xy_px) if d.side else None)
    if doubt is not None:
        return doubt
    if world_m is not None:
        one_world = np.asarray(world_m)[None]
        if turned_from_frontal(d, one_world)[0]:
            return FlagCode.VIEW
        if too_bent(d, one_world)[0]:
            return FlagCode.BENT
    with np.errstate(invalid="ignore"):
        return FlagCode.OUT_OF_RANGE if out_of_range(d, FORMULAS[d.kind](one, d))[0] else None


def _view_doubt(d: JointAngle, one: np.ndarray) -> FlagCode | None:
    """``VIEW`` or ``FAR_SIDE`` for one frame (``one`` is (1, 33, 2))."""
    view = str(classify_view(one)[0])
    needed = PLANE_VIEW.get(d.plane)
    if needed is not None and view and view != needed:
        return FlagCode.VIEW
    near = str(near_side(one)[0])
    if d.side and view == "side" and near and near != d.side:
        return FlagCode.FAR_SIDE
    return None


def _proportion_doubt(d: JointAngle, xy_px: np.ndarray) -> FlagCode | None:
    """``FORESHORTENED`` when a segment of the angle is shorter than its body-proportion length allows."""
    trunk = float(np.linalg.norm(trunk_down_vector(xy_px[None])[0]))
    for a, b in ((d.proximal, d.vertex), (d.vertex, d.distal)):
        reference = proportion_reference_px(a, b, trunk)
        length = float(np.linalg.norm(xy_px[int(a)] - xy_px[int(b)]))
        if reference is not None and length < FORESHORTENED_RATIO * reference:
            return FlagCode.FORESHORTENED
    return None
