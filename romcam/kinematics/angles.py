"""Clinical joint angles from 2D landmarks, defined as data in one registry.

All angles are in degrees, measured on pixel coordinates (x right, y down), and follow the
neutral-zero method: 0 is the anatomical standing posture. Sides are the person's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from romcam.kinematics.geometry import (
    component_perpendicular,
    is_zero_2d,
    length_2d,
    signed_angle_deg,
    turn_deg,
    turn_sign,
    unsigned_angle_deg,
    wrap_deg,
)
from romcam.landmarks import Landmark as L

SIDE_VIEW_RATIO = 0.5
"""The nose must stand ahead of the ear midpoint by this fraction of the shoulder width (both
measured across the trunk axis) before a frame counts as a side view with a known facing."""


@dataclass(frozen=True)
class JointAngle:
    """Definition of one clinical angle.

    Attributes
    ----------
    name : column name, e.g. ``left_knee_flexion``.
    kind : which formula (a key of ``FORMULAS``).
    vertex, proximal, distal : landmarks of the goniometer axis and arms.
    plane : "sagittal" or "frontal": the plane that must face the camera ("any" if either will do).
    zero : the posture that reads 0.
    sign : what a positive value means.
    side : "left", "right" or "" for the trunk.
    limits_deg : (lowest, highest) value the joint can physiologically reach in this definition (the
        normal range's ends widened by ``PHYSIOLOGICAL_MARGIN_DEG``; ``PHYSIOLOGICAL_LIMITS_DEG``); values
        outside are flagged ``out_of_range``. None: no limit (trunk orientation, which lying changes).
    wrap_lower_deg : signed angles are wrapped into ``[wrap_lower_deg, wrap_lower_deg + 360)``, so the
        discontinuity lies where the joint cannot go.
    """

    name: str
    kind: str
    vertex: L
    proximal: L
    distal: L
    plane: str
    zero: str
    sign: str
    side: str = ""
    limits_deg: tuple[float, float] | None = None
    wrap_lower_deg: float = -90.0


# --- landmark helpers ---------------------------------------------------------------------------


def _pt(xy_px: np.ndarray, lm: L) -> np.ndarray:
    return np.asarray(xy_px[:, int(lm)])


def _mid(xy_px: np.ndarray, a: L, b: L) -> np.ndarray:
    return (_pt(xy_px, a) + _pt(xy_px, b)) / 2.0


def trunk_down_vector(xy_px: np.ndarray) -> np.ndarray:
    """(T, 2) trunk midline pointing down: mid-hip minus mid-shoulder."""
    return _mid(xy_px, L.LEFT_HIP, L.RIGHT_HIP) - _mid(xy_px, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)


def forward_vector(
    xy_px: np.ndarray, side_view_ratio: float = SIDE_VIEW_RATIO, trunk_down: np.ndarray | None = None
) -> np.ndarray:
    """(T, 2) the direction the person faces in the image, NaN when the view is not side-on.

    Forward is the nose's offset from the ear midpoint, taken across the trunk axis. The facing is
    known only when that offset exceeds ``side_view_ratio`` times the shoulder width across the
    trunk axis (in a front view the nose sits between the ears and the shoulders are wide).
    """
    axis = trunk_down_vector(xy_px) if trunk_down is None else trunk_down
    ahead = component_perpendicular(_pt(xy_px, L.NOSE) - _mid(xy_px, L.LEFT_EAR, L.RIGHT_EAR), axis)
    across = component_perpendicular(_pt(xy_px, L.LEFT_SHOULDER) - _pt(xy_px, L.RIGHT_SHOULDER), axis)
    ahead_len = length_2d(ahead)
    with np.errstate(invalid="ignore"):
        known = ahead_len > side_view_ratio * length_2d(across)
    return np.where(known[:, None], ahead, np.nan)


def lateral_vector(xy_px: np.ndarray, side: str) -> np.ndarray:
    """(T, 2) pointing from the body midline toward the given side (from the opposite shoulder and hip)."""
    s = "LEFT" if side == "left" else "RIGHT"
    o = "RIGHT" if side == "left" else "LEFT"
    return (_pt(xy_px, L[f"{s}_SHOULDER"]) - _pt(xy_px, L[f"{o}_SHOULDER"])) + (
        _pt(xy_px, L[f"{s}_HIP"]) - _pt(xy_px, L[f"{o}_HIP"])
    )


def sagittal_handedness(
    xy_px: np.ndarray, trunk_down: np.ndarray | None = None, forward: np.ndarray | None = None
) -> np.ndarray:
    """(T,) +1 where a forward rotation of a segment hanging down turns counter-clockwise on screen
    (the person faces screen right in an upright image), -1 for the mirror case, NaN if not side-on.

    Computed as the turn from the trunk's upward axis to the forward direction, both image vectors,
    so it holds for a tilted or rotated image too. ``trunk_down`` and ``forward`` are ``trunk_down_vector`` and
    ``forward_vector`` of ``xy_px`` where the caller has them.
    """
    axis = trunk_down_vector(xy_px) if trunk_down is None else trunk_down
    return turn_sign(-axis, forward_vector(xy_px, trunk_down=axis) if forward is None else forward)


def frontal_handedness(xy_px: np.ndarray, side: str, trunk_down: np.ndarray | None = None) -> np.ndarray:
    """(T,) the turn from the trunk's downward axis toward the given side (+1 clockwise on screen)."""
    axis = trunk_down_vector(xy_px) if trunk_down is None else trunk_down
    return turn_sign(axis, lateral_vector(xy_px, side))


class BodyAxes:
    """The image-plane body axes the formulas of one sequence share, each computed once, on first use: the trunk's
    downward axis, the forward direction, the sagittal handedness and the frontal handedness of each side (see the
    functions above). The flags read the first two as well (``rules.frame_flags.frame_evidence``)."""

    def __init__(self, xy_px: np.ndarray) -> None:
        self.xy_px = xy_px
        self._frontal: dict[str, np.ndarray] = {}

    @cached_property
    def trunk_down(self) -> np.ndarray:
        return trunk_down_vector(self.xy_px)

    @cached_property
    def forward(self) -> np.ndarray:
        return forward_vector(self.xy_px, trunk_down=self.trunk_down)

    @cached_property
    def sagittal(self) -> np.ndarray:
        return sagittal_handedness(self.xy_px, self.trunk_down, self.forward)

    def frontal(self, side: str) -> np.ndarray:
        if side not in self._frontal:
            self._frontal[side] = frontal_handedness(self.xy_px, side, self.trunk_down)
        return self._frontal[side]


def _signed_or_magnitude(
    reference: np.ndarray, segment: np.ndarray, handedness: np.ndarray, lower_deg: float = -90.0
) -> np.ndarray:
    """Signed angle where ``handedness`` is known, else its magnitude in [0, 180]."""
    theta = turn_deg(reference, segment)  # one arctan2 for both: the magnitude is |theta|
    signed = wrap_deg(theta * handedness, lower_deg)
    magnitude = np.where(is_zero_2d(reference) | is_zero_2d(segment), np.nan, np.abs(theta))
    return np.where(np.isfinite(signed), signed, magnitude)


# --- formulas -----------------------------------------------------------------------------------
# In an upright image of a person facing screen right (sagittal handedness +1), a forward swing of
# a hanging segment turns counter-clockwise (theta < 0): hip and shoulder flexion are -theta, knee
# flexion and forward trunk lean are +theta.


def shoulder_flexion_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """Angle from the shoulder->hip line (midaxillary) to the shoulder->elbow line.

    0 = arm at the side; + = flexion (arm forward), - = extension (arm backward); range [-90, 270).
    The sign needs a side view (see ``forward_vector``); otherwise the magnitude in [0, 180] is given.
    """
    shoulder = _pt(xy_px, d.vertex)
    return _signed_or_magnitude(
        _pt(xy_px, d.proximal) - shoulder,
        _pt(xy_px, d.distal) - shoulder,
        -(axes or BodyAxes(xy_px)).sagittal,
        d.wrap_lower_deg,
    )


def abduction_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """Angle from the trunk midline's downward direction to the vertex->distal segment (front view).

    0 = limb parallel to the trunk midline; + = abduction (away from the midline), - = adduction
    across it; range ``[d.wrap_lower_deg, d.wrap_lower_deg + 360)``: [-90, 270) for the shoulder (the arm
    goes overhead), [-180, 180) for the hip (a seated or raised thigh pointing sideways never crosses the seam).
    """
    segment = _pt(xy_px, d.distal) - _pt(xy_px, d.vertex)
    axes = axes or BodyAxes(xy_px)
    return signed_angle_deg(axes.trunk_down, segment, axes.frontal(d.side), d.wrap_lower_deg)


def elbow_flexion_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """``180 - angle(shoulder, elbow, wrist)``: 0 = straight arm, range [0, 180]."""
    elbow = _pt(xy_px, d.vertex)
    return 180.0 - unsigned_angle_deg(_pt(xy_px, d.proximal) - elbow, _pt(xy_px, d.distal) - elbow)


def hip_flexion_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """``180 - angle(shoulder, hip, knee)``, signed: 0 = standing, + = thigh forward, - = extension.

    Computed as the angle from the trunk line continued below the hip (shoulder->hip) to the
    hip->knee segment; the sign needs a side view, else the magnitude is given. Range [-90, 270).
    """
    hip = _pt(xy_px, d.vertex)
    return _signed_or_magnitude(
        hip - _pt(xy_px, d.proximal), _pt(xy_px, d.distal) - hip, -(axes or BodyAxes(xy_px)).sagittal, d.wrap_lower_deg
    )


def knee_flexion_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """``180 - angle(hip, knee, ankle)``, signed: 0 = straight, + = flexion, - = hyperextension.

    The angle from the thigh line continued below the knee to the knee->ankle segment, positive
    when the shank swings backward; the sign needs a side view, else the magnitude is given.
    Range [-90, 270).
    """
    knee = _pt(xy_px, d.vertex)
    return _signed_or_magnitude(
        knee - _pt(xy_px, d.proximal), _pt(xy_px, d.distal) - knee, (axes or BodyAxes(xy_px)).sagittal, d.wrap_lower_deg
    )


def ankle_dorsiflexion_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """``90 - angle(ankle->knee, heel->foot index)``: 0 = foot square to the shank,
    + = dorsiflexion (toes toward the shin), - = plantarflexion.

    Heel->foot index is not the fifth metatarsal line: compare with the person's neutral stance.
    """
    shank = _pt(xy_px, d.proximal) - _pt(xy_px, d.vertex)
    foot = _pt(xy_px, L.LEFT_FOOT_INDEX if d.side == "left" else L.RIGHT_FOOT_INDEX) - _pt(xy_px, d.distal)
    return 90.0 - unsigned_angle_deg(shank, foot)


def knee_valgus_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """Frontal plane projection angle, ``180 - angle(hip, knee, ankle)`` in a front view.

    Signed: + = valgus (knee medial to the hip-ankle line, the shank turning outward from the
    thigh line), - = varus; 0 = straight leg. Range [-180, 180).
    """
    knee = _pt(xy_px, d.vertex)
    thigh = knee - _pt(xy_px, d.proximal)
    shank = _pt(xy_px, d.distal) - knee
    return signed_angle_deg(thigh, shank, (axes or BodyAxes(xy_px)).frontal(d.side), d.wrap_lower_deg)


def _vertical_up(like: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.array([0.0, -1.0]), like.shape)


def trunk_flexion_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """Angle of mid-hip->mid-shoulder to the image vertical: 0 = upright, + = leaning forward.

    Needs a level camera. The sign needs a side view, else the magnitude is given. Range [-180, 180): lying
    on the back reads -90, face down +90, and the seam is upside down, a posture romcam does not measure.
    """
    axes = axes or BodyAxes(xy_px)
    trunk_up = -axes.trunk_down
    return _signed_or_magnitude(_vertical_up(trunk_up), trunk_up, axes.sagittal, d.wrap_lower_deg)


def trunk_lateral_lean_deg(xy_px: np.ndarray, d: JointAngle, axes: BodyAxes | None = None) -> np.ndarray:
    """Angle of mid-hip->mid-shoulder to the image vertical in a front view:
    0 = upright, + = leaning toward the person's right, - = toward the left. Needs a level camera.
    Range [-180, 180).
    """
    trunk_up = -(axes or BodyAxes(xy_px)).trunk_down
    toward_right = turn_sign(_vertical_up(trunk_up), lateral_vector(xy_px, "right"))
    return signed_angle_deg(_vertical_up(trunk_up), trunk_up, toward_right, d.wrap_lower_deg)


FORMULAS: dict[str, Callable[..., np.ndarray]] = {
    "shoulder_flexion": shoulder_flexion_deg,
    "abduction": abduction_deg,
    "elbow_flexion": elbow_flexion_deg,
    "hip_flexion": hip_flexion_deg,
    "knee_flexion": knee_flexion_deg,
    "ankle_dorsiflexion": ankle_dorsiflexion_deg,
    "knee_valgus": knee_valgus_deg,
    "trunk_flexion": trunk_flexion_deg,
    "trunk_lateral_lean": trunk_lateral_lean_deg,
}


def _sided(side: str) -> dict[str, L]:
    s = side.upper()
    return {part: L[f"{s}_{part}"] for part in ("SHOULDER", "ELBOW", "WRIST", "HIP", "KNEE", "ANKLE", "HEEL")}


def _angles_for_side(side: str) -> list[JointAngle]:
    p = _sided(side)
    return [
        JointAngle(
            f"{side}_shoulder_flexion",
            "shoulder_flexion",
            p["SHOULDER"],
            p["HIP"],
            p["ELBOW"],
            "sagittal",
            "arm at the side",
            "+ forward (flexion), - backward (extension)",
            side,
        ),
        JointAngle(
            f"{side}_shoulder_abduction",
            "abduction",
            p["SHOULDER"],
            p["HIP"],
            p["ELBOW"],
            "frontal",
            "arm at the side",
            "+ away from the midline",
            side,
        ),
        JointAngle(
            f"{side}_elbow_flexion",
            "elbow_flexion",
            p["ELBOW"],
            p["SHOULDER"],
            p["WRIST"],
            "any",
            "straight arm",
            "+ flexion",
            side,
        ),
        JointAngle(
            f"{side}_hip_flexion",
            "hip_flexion",
            p["HIP"],
            p["SHOULDER"],
            p["KNEE"],
            "sagittal",
            "standing",
            "+ flexion, - extension",
            side,
        ),
        JointAngle(
            f"{side}_hip_abduction",
            "abduction",
            p["HIP"],
            p["SHOULDER"],
            p["KNEE"],
            "frontal",
            "leg parallel to the trunk midline",
            "+ away from the midline",
            side,
        ),
        JointAngle(
            f"{side}_knee_flexion",
            "knee_flexion",
            p["KNEE"],
            p["HIP"],
            p["ANKLE"],
            "sagittal",
            "straight leg",
            "+ flexion, - hyperextension",
            side,
        ),
        JointAngle(
            f"{side}_ankle_dorsiflexion",
            "ankle_dorsiflexion",
            p["ANKLE"],
            p["KNEE"],
            p["HEEL"],
            "sagittal",
            "foot square to the shank",
            "+ dorsiflexion, - plantarflexion",
            side,
        ),
        JointAngle(
            f"{side}_knee_valgus",
            "knee_valgus",
            p["KNEE"],
            p["HIP"],
            p["ANKLE"],
            "frontal",
            "straight leg",
            "+ valgus (knee inward), - varus",
            side,
        ),
    ]


SIGN_FROM_FACING = frozenset({"shoulder_flexion", "hip_flexion", "trunk_flexion"})
"""Angle kinds whose sign comes from the facing in a side view and whose negative range is large (extension of
30–60°): without a known facing only their magnitude is given, so a backward swing reads as a forward one."""

PHYSIOLOGICAL_MARGIN_DEG = 20.0
"""How far beyond the normal range's ends a value may go before it is called not physiological: people vary
(hypermobility, the 2D definitions include some pelvic and spinal motion) and so does the landmark model."""

NORMAL_RANGE_DEG: dict[str, tuple[float, float]] = {
    "shoulder_flexion": (-60.0, 180.0),  # extension 60, flexion 180 (AAOS)
    "abduction_shoulder": (-30.0, 180.0),  # adduction across the body about 30, abduction 180 (AAOS)
    "abduction_hip": (-30.0, 45.0),  # adduction 30, abduction 45 (AAOS)
    "elbow_flexion": (0.0, 150.0),  # extension 0, flexion 150 (AAOS)
    "hip_flexion": (-30.0, 120.0),  # extension 30, flexion 120 (AAOS)
    "knee_flexion": (-10.0, 150.0),  # hyperextension up to 10 (AAOS), flexion 150 (AMA)
    "ankle_dorsiflexion": (-50.0, 20.0),  # plantarflexion 50, dorsiflexion 20 (AAOS)
    "knee_valgus": (-20.0, 25.0),  # FPPA: healthy 8 +- 5, patellofemoral pain 17 +- 5 (Herrington 2014)
}
"""Normal active range of each angle kind (shoulder and hip abduction apart), with its source; see
``docs/clinical.md``. The trunk's orientation has none: lying down is a posture, not an injury."""


def physiological_limits_deg(kind: str, side_joint: str = "") -> tuple[float, float] | None:
    """The normal range of ``kind`` (``abduction`` of ``side_joint`` "shoulder" or "hip") widened by
    ``PHYSIOLOGICAL_MARGIN_DEG`` at both ends; None for an angle without one."""
    key = f"{kind}_{side_joint}" if kind == "abduction" else kind
    if key not in NORMAL_RANGE_DEG:
        return None
    lo, hi = NORMAL_RANGE_DEG[key]
    return lo - PHYSIOLOGICAL_MARGIN_DEG, hi + PHYSIOLOGICAL_MARGIN_DEG


WRAP_LOWER_DEG = {"hip_abduction": -180.0, "trunk_flexion": -180.0, "knee_valgus": -180.0, "trunk_lateral_lean": -180.0}
"""Angles whose 360° seam lies at ±180 instead of at -90/270: a seated or raised thigh points sideways (hip
abduction), a person lying on the back reads trunk flexion -90; the others' seam at -90 is where the joint
cannot go (shoulder, hip and knee flexion never reach 90° of hyperextension)."""


def _with_limits(a: JointAngle) -> JointAngle:
    joint = "hip" if a.name.endswith("hip_abduction") else "shoulder"
    wrap = next((w for suffix, w in WRAP_LOWER_DEG.items() if a.name.endswith(suffix)), a.wrap_lower_deg)
    return replace(a, limits_deg=physiological_limits_deg(a.kind, joint), wrap_lower_deg=wrap)


def _build_registry() -> dict[str, JointAngle]:
    left, right = _angles_for_side("left"), _angles_for_side("right")
    ordered = [a for pair in zip(left, right, strict=True) for a in pair]
    ordered = [a for a in ordered if a.kind != "knee_valgus"] + [a for a in ordered if a.kind == "knee_valgus"]
    ordered += [
        JointAngle(
            "trunk_flexion",
            "trunk_flexion",
            L.LEFT_HIP,
            L.LEFT_SHOULDER,
            L.RIGHT_SHOULDER,
            "sagittal",
            "upright",
            "+ leaning forward",
        ),
        JointAngle(
            "trunk_lateral_lean",
            "trunk_lateral_lean",
            L.LEFT_HIP,
            L.LEFT_SHOULDER,
            L.RIGHT_SHOULDER,
            "frontal",
            "upright",
            "+ toward the person's right",
        ),
    ]
    return {a.name: _with_limits(a) for a in ordered}


REGISTRY: dict[str, JointAngle] = _build_registry()
"""Every angle romcam measures, in output column order."""

ANGLE_NAMES: tuple[str, ...] = tuple(REGISTRY)


def resolve_angle_names(names: Sequence[str] | None) -> tuple[str, ...]:
    """Validate requested angle names; ``None`` means all. Raises ``ValueError`` naming the valid ones."""
    if names is None:
        return ANGLE_NAMES
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown angle {', '.join(unknown)}; valid angles: {', '.join(ANGLE_NAMES)}")
    return tuple(names)


def compute_angles_deg(
    xy_px: np.ndarray, names: Sequence[str] | None = None, axes: BodyAxes | None = None
) -> dict[str, np.ndarray]:
    """Every requested angle over time.

    Parameters
    ----------
    xy_px : (T, 33, 2) pixel coordinates; NaN landmarks give NaN angles.
    names : angle names from ``REGISTRY``; ``None`` means all.
    axes : the ``BodyAxes`` of ``xy_px`` where the caller keeps them for later (made here otherwise).

    Returns
    -------
    dict mapping each name to a (T,) array in degrees.
    """
    xy = np.asarray(xy_px, dtype=float)
    axes = BodyAxes(xy) if axes is None else axes  # the trunk axis and handedness, computed once for every angle
    with np.errstate(invalid="ignore"):
        return {n: FORMULAS[REGISTRY[n].kind](xy, REGISTRY[n], axes) for n in resolve_angle_names(names)}
