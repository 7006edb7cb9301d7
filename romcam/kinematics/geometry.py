"""Vector geometry on image coordinates (x right, y down), vectorised over leading axes."""

from __future__ import annotations

import numpy as np


def length_2d(v: np.ndarray) -> np.ndarray:
    """Length of 2D vectors (..., 2): ``sqrt(v_x^2 + v_y^2)`` (NaN where a component is NaN; image coordinates
    are far from overflowing, so the slower ``hypot`` is not needed)."""
    x, y = v[..., 0], v[..., 1]
    return np.asarray(np.sqrt(x * x + y * y))


def is_zero_2d(v: np.ndarray) -> np.ndarray:
    """(...) True where a 2D vector (..., 2) has zero length (both components 0)."""
    return np.asarray((v[..., 0] == 0) & (v[..., 1] == 0))


def finite_2d(v: np.ndarray) -> np.ndarray:
    """(...) True where both components of the 2D vectors (..., 2) are finite."""
    return np.asarray(np.isfinite(v[..., 0]) & np.isfinite(v[..., 1]))


def cross_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z component of the cross product of 2D vectors: ``a_x b_y - a_y b_x``."""
    return np.asarray(a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0])


def unsigned_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle between vectors ``a`` and ``b`` in degrees, in [0, 180].

    Computed as ``atan2(|a x b|, a . b)``, which stays accurate near 0 and 180.
    NaN where either vector is NaN or has zero length.
    """
    dot = a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]
    cross = np.abs(cross_2d(a, b))
    out = np.degrees(np.arctan2(cross, dot))
    return np.where(is_zero_2d(a) | is_zero_2d(b), np.nan, out)


def signed_angle_deg(
    reference: np.ndarray, segment: np.ndarray, handedness: np.ndarray, lower_deg: float = -180.0
) -> np.ndarray:
    """Angle that rotates ``reference`` onto ``segment``, times ``handedness`` (+1, -1 or NaN).

    ``theta = atan2(reference x segment, reference . segment)`` is positive for a clockwise turn on
    screen (y points down). ``handedness`` says which turn is anatomically positive for this person
    in this frame, which makes the result independent of mirroring and of the image's orientation.
    The result is wrapped into ``[lower_deg, lower_deg + 360)``, which puts the discontinuity where
    the joint cannot go (no 360 degree jumps within its range). NaN where ``handedness`` is NaN.
    """
    return wrap_deg(turn_deg(reference, segment) * handedness, lower_deg)


def turn_deg(reference: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """``theta = atan2(reference x segment, reference . segment)`` in degrees, in [-180, 180]: the turn that
    rotates ``reference`` onto ``segment``, positive clockwise on screen (y down); 0 where either has zero
    length, NaN where either is NaN."""
    rx, ry, sx, sy = reference[..., 0], reference[..., 1], segment[..., 0], segment[..., 1]
    return np.asarray(np.degrees(np.arctan2(rx * sy - ry * sx, rx * sx + ry * sy)))


def wrap_deg(angle_deg: np.ndarray, lower_deg: float) -> np.ndarray:
    """Angles wrapped into ``[lower_deg, lower_deg + 360)`` by adding or taking away one turn: for angles at most
    one turn outside that range (a turn in [-180, 180] times +-1 is, for any ``lower_deg`` in [-540, 180]). NaN
    stays NaN."""
    a = np.asarray(angle_deg, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.asarray(a + 360.0 * (a < lower_deg) - 360.0 * (a >= lower_deg + 360.0))


def turn_sign(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """+1 where turning from ``a`` to ``b`` is clockwise on screen, -1 counter-clockwise, NaN if parallel."""
    s = np.sign(cross_2d(a, b))
    return np.where(s == 0, np.nan, s)


def component_perpendicular(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The part of ``v`` perpendicular to ``axis`` (both (..., 2))."""
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = axis / length_2d(axis)[..., None]
    return np.asarray(v - np.sum(v * unit, axis=-1, keepdims=True) * unit)


def bend_3d_deg(a: np.ndarray, vertex: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``180 - angle(a, vertex, b)`` in 3D, in degrees: 0 for a straight limb, 90 for a right angle.

    ``a``, ``vertex``, ``b`` are (..., 3) points; NaN where any is missing or a segment has zero length.
    """
    a, vertex, b = np.asarray(a), np.asarray(vertex), np.asarray(b)
    ux, uy, uz = (a[..., k] - vertex[..., k] for k in range(3))  # by component: no (..., 3) temporaries
    vx, vy, vz = (b[..., k] - vertex[..., k] for k in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (ux * vx + uy * vy + uz * vz) / (
            np.sqrt(ux * ux + uy * uy + uz * uz) * np.sqrt(vx * vx + vy * vy + vz * vz)
        )
    return np.asarray(180.0 - np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def body_yaw_deg(world_m: np.ndarray) -> np.ndarray:
    """(T,) how far the body is turned from facing the camera, in degrees within [-90, 90): 0 facing it (or
    facing away), +-90 side-on. From MediaPipe's world landmarks (T, 33, 3): the direction of the shoulders' and
    hips' left-minus-right vectors in the camera's x-z plane."""
    w = np.asarray(world_m, dtype=float)
    across = (w[:, 11] - w[:, 12]) + (w[:, 23] - w[:, 24])  # left minus right shoulder and hip
    yaw = np.degrees(np.arctan2(across[:, 2], across[:, 0]))
    return np.asarray((yaw + 90.0) % 180.0 - 90.0)
