"""Drawing the skeleton and joint angles on frames, and writing the annotated video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from romcam.errors import RomcamError
from romcam.kinematics.angles import REGISTRY
from romcam.landmarks import SKELETON

LEFT_BGR = (255, 160, 40)
RIGHT_BGR = (40, 140, 255)
CENTER_BGR = (230, 230, 230)
MAIN_ANGLES = {
    "left_shoulder_flexion": "sh",
    "right_shoulder_flexion": "sh",
    "left_elbow_flexion": "elb",
    "right_elbow_flexion": "elb",
    "left_hip_flexion": "hip",
    "right_hip_flexion": "hip",
    "left_knee_flexion": "knee",
    "right_knee_flexion": "knee",
}
"""Angles written on the video, with their short labels (the box edge colour gives the side)."""


def _color(a_name: str, b_name: str) -> tuple[int, int, int]:
    if "LEFT" in a_name and "LEFT" in b_name:
        return LEFT_BGR
    if "RIGHT" in a_name and "RIGHT" in b_name:
        return RIGHT_BGR
    return CENTER_BGR


def draw_skeleton(bgr: np.ndarray, xy_px: np.ndarray) -> None:
    """Draw the skeleton (person's left in blue, right in orange) in place; NaN landmarks are skipped."""
    scale = max(1, round(max(bgr.shape[:2]) / 640))
    for a, b in SKELETON:
        pa, pb = xy_px[int(a)], xy_px[int(b)]
        if np.isfinite(pa).all() and np.isfinite(pb).all():
            cv2.line(bgr, tuple(map(int, pa)), tuple(map(int, pb)), _color(a.name, b.name), 2 * scale, cv2.LINE_AA)
    for p in xy_px:
        if np.isfinite(p).all():
            cv2.circle(bgr, tuple(map(int, p)), 3 * scale, (255, 255, 255), -1, cv2.LINE_AA)


def put_label(
    bgr: np.ndarray,
    text: str,
    origin: tuple[int, int],
    scale: float = 0.6,
    edge_bgr: tuple[int, int, int] | None = None,
) -> None:
    """White text on a dark box (with a coloured edge if given), legible on any background."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    thickness = max(1, int(round(scale * 2)))
    (w, h), base = cv2.getTextSize(text, font, scale, thickness)
    x, y = origin
    cv2.rectangle(bgr, (x - 3, y - h - 5), (x + w + 3, y + base + 1), (20, 20, 20), -1)
    if edge_bgr is not None:
        cv2.rectangle(bgr, (x - 3, y - h - 5), (x + w + 3, y + base + 1), edge_bgr, max(1, thickness))
    cv2.putText(bgr, text, (x, y), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def draw_angles(bgr: np.ndarray, xy_px: np.ndarray, angles_deg: dict[str, float]) -> None:
    """Write each main angle (joint name and whole degrees) beside its joint, edged in the side's colour."""
    scale = max(0.45, max(bgr.shape[:2]) / 1500)
    for name, short in MAIN_ANGLES.items():
        value = angles_deg.get(name, np.nan)
        vertex = xy_px[int(REGISTRY[name].vertex)]
        if np.isfinite(value) and np.isfinite(vertex).all():
            left = name.startswith("left_")
            text = f"{short} {value:.0f}"
            width = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
            dx = 12 if left else -12 - width
            put_label(bgr, text, (int(vertex[0]) + dx, int(vertex[1])), scale, LEFT_BGR if left else RIGHT_BGR)


class AnnotatedVideoWriter:
    """Writes frames to an MP4 file (``mp4v``) at the source's frame rate."""

    def __init__(self, path: Path, fps: float, width_px: int, height_px: int) -> None:
        self.path = path
        self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps or 30.0, (width_px, height_px))
        if not self._writer.isOpened():
            raise RomcamError(f"cannot write video {path}")
        self.size = (width_px, height_px)

    def write(self, bgr: np.ndarray) -> None:
        if (bgr.shape[1], bgr.shape[0]) != self.size:
            bgr = cv2.resize(bgr, self.size)
        self._writer.write(bgr)

    def close(self) -> None:
        self._writer.release()
