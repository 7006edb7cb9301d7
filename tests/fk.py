"""Forward kinematics for tests: 2D landmark sets built from known clinical angles.

Directions are built by rotating unit vectors, so the angles are exact by construction and tests
can recover them to 0.01 degrees.
"""

from __future__ import annotations

import numpy as np

from romcam.landmarks import N_LANDMARKS
from romcam.landmarks import Landmark as L


def rotate(v: np.ndarray, angle_deg: float, toward: np.ndarray) -> np.ndarray:
    """Rotate ``v`` by ``angle_deg`` in the turning direction that brings it toward ``toward``."""
    sign = np.sign(v[0] * toward[1] - v[1] * toward[0]) or 1.0
    a = np.radians(angle_deg) * sign
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _empty() -> np.ndarray:
    return np.full((N_LANDMARKS, 2), np.nan)


def rot(v: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate ``v`` clockwise on screen (y points down) by ``angle_deg``."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def side_view(
    facing: int = 1,
    trunk_flexion: float = 0.0,
    shoulder_flexion: tuple[float, float] = (0.0, 0.0),
    elbow_flexion: tuple[float, float] = (0.0, 0.0),
    hip_flexion: tuple[float, float] = (0.0, 0.0),
    knee_flexion: tuple[float, float] = (0.0, 0.0),
    ankle_dorsiflexion: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """(33, 2) pixel landmarks of a person seen from the side, facing screen right (``facing=1``)
    or left (-1). Tuples are (left, right).

    A forward (flexion) rotation of a hanging segment is counter-clockwise on screen when the
    person faces right, so ``fwd(v, a)`` turns ``v`` forward by ``a`` degrees.
    """

    def fwd(v: np.ndarray, a: float) -> np.ndarray:
        return rot(v, -facing * a)

    xy = _empty()
    mid_hip = np.array([500.0, 600.0])
    trunk_down = fwd(np.array([0.0, 1.0]), 180.0 - trunk_flexion) * -1.0
    trunk_up = -trunk_down
    ahead = fwd(trunk_down, 90.0)
    mid_shoulder = mid_hip + 220 * trunk_up
    for i, side in enumerate(("LEFT", "RIGHT")):
        shoulder, hip = mid_shoulder, mid_hip
        xy[L[f"{side}_SHOULDER"]], xy[L[f"{side}_HIP"]] = shoulder, hip
        upper_arm = fwd(trunk_down, shoulder_flexion[i])
        elbow = shoulder + 120 * upper_arm
        xy[L[f"{side}_ELBOW"]], xy[L[f"{side}_WRIST"]] = elbow, elbow + 110 * fwd(upper_arm, elbow_flexion[i])
        thigh = fwd(trunk_down, hip_flexion[i])
        knee = hip + 200 * thigh
        shank = fwd(thigh, -knee_flexion[i])
        ankle = knee + 190 * shank
        foot = fwd(shank, 90.0 + ankle_dorsiflexion[i])
        heel = ankle - 20 * foot + 15 * shank
        xy[L[f"{side}_KNEE"]], xy[L[f"{side}_ANKLE"]] = knee, ankle
        xy[L[f"{side}_HEEL"]], xy[L[f"{side}_FOOT_INDEX"]] = heel, heel + 70 * foot
    ear = mid_shoulder + 60 * trunk_up
    xy[L.LEFT_EAR] = xy[L.RIGHT_EAR] = ear
    xy[L.NOSE] = ear + 25 * ahead - 5 * trunk_up
    return xy


def front_view(
    trunk_lateral_lean: float = 0.0,
    shoulder_abduction: tuple[float, float] = (0.0, 0.0),
    elbow_flexion: tuple[float, float] = (0.0, 0.0),
    hip_abduction: tuple[float, float] = (0.0, 0.0),
    knee_valgus: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """(33, 2) pixel landmarks of a person facing the camera (their left at screen right).
    Tuples are (left, right); positive lean is toward the person's right."""
    xy = _empty()
    mid_hip = np.array([500.0, 600.0])
    person_right = np.array([-1.0, 0.0])
    trunk_up = (
        rotate(np.array([0.0, -1.0]), trunk_lateral_lean, person_right)
        if trunk_lateral_lean >= 0
        else rotate(np.array([0.0, -1.0]), -trunk_lateral_lean, -person_right)
    )
    trunk_down = -trunk_up
    mid_shoulder = mid_hip + 220 * trunk_up
    for i, side in enumerate(("LEFT", "RIGHT")):
        lateral = rotate(trunk_up, 90.0, -person_right if side == "LEFT" else person_right)
        shoulder, hip = mid_shoulder + 80 * lateral, mid_hip + 55 * lateral
        xy[L[f"{side}_SHOULDER"]], xy[L[f"{side}_HIP"]] = shoulder, hip
        arm = (
            rotate(trunk_down, shoulder_abduction[i], lateral)
            if shoulder_abduction[i] >= 0
            else rotate(trunk_down, -shoulder_abduction[i], -lateral)
        )
        elbow = shoulder + 120 * arm
        forearm = rotate(arm, elbow_flexion[i], -lateral)
        xy[L[f"{side}_ELBOW"]], xy[L[f"{side}_WRIST"]] = elbow, elbow + 110 * forearm
        thigh = (
            rotate(trunk_down, hip_abduction[i], lateral)
            if hip_abduction[i] >= 0
            else rotate(trunk_down, -hip_abduction[i], -lateral)
        )
        knee = hip + 200 * thigh
        shank = (
            rotate(thigh, knee_valgus[i], lateral) if knee_valgus[i] >= 0 else rotate(thigh, -knee_valgus[i], -lateral)
        )
        ankle = knee + 190 * shank
        xy[L[f"{side}_KNEE"]], xy[L[f"{side}_ANKLE"]] = knee, ankle
        xy[L[f"{side}_HEEL"]] = ankle + 10 * shank
        xy[L[f"{side}_FOOT_INDEX"]] = ankle + 30 * shank + 5 * lateral
        xy[L[f"{side}_EAR"]] = mid_shoulder + 70 * trunk_up + 18 * lateral
    xy[L.NOSE] = mid_shoulder + 60 * trunk_up
    return xy


def as_sequence(frames: list[np.ndarray]) -> np.ndarray:
    """Stack (33, 2) frames into (T, 33, 2)."""
    return np.stack(frames)
