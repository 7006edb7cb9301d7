"""The neutral capture's profile (camera roll, zero offsets, segment lengths), beside ``CameraProfile``.

``romcam calibrate neutral`` makes it; ``--neutral FILE`` loads it on every command.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romcam.errors import RomcamError
from romcam.fileio import write_text_atomic
from romcam.kinematics.angles import REGISTRY
from romcam.kinematics.neutral import level_xy_px


@dataclass(frozen=True)
class NeutralProfile:
    """What a neutral capture measured: the camera's roll and each angle's reading at anatomical zero."""

    roll_deg: float
    width_px: int
    height_px: int
    zero_offsets_deg: dict[str, float] = field(default_factory=dict)
    frames: int = 0
    segment_lengths_px: dict[str, float] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        lines = [
            "# romcam neutral capture: camera roll and zero offsets (degrees)",
            f"roll_deg = {self.roll_deg:.4f}",
            f"width_px = {self.width_px}",
            f"height_px = {self.height_px}",
            f"frames = {self.frames}",
            "",
            "[zero_offsets_deg]",
        ]
        lines += [f"{k} = {v:.3f}" for k, v in self.zero_offsets_deg.items()]
        lines += [
            "",
            "# image length of each angle's moving segment (vertex to distal landmark)",
            "[segment_lengths_px]",
        ]
        lines += [f"{k} = {v:.2f}" for k, v in self.segment_lengths_px.items()]
        write_text_atomic(path, "\n".join(lines) + "\n")

    @classmethod
    def load(cls, path: Path) -> NeutralProfile:
        try:
            data = tomllib.loads(path.read_text())
            return cls(
                float(data["roll_deg"]),
                int(data["width_px"]),
                int(data["height_px"]),
                {k: float(v) for k, v in data.get("zero_offsets_deg", {}).items()},
                int(data.get("frames", 0)),
                {k: float(v) for k, v in data.get("segment_lengths_px", {}).items()},
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as exc:
            raise RomcamError(f"cannot read neutral profile {path}: {exc}") from exc

    def check_fits(self, width_px: int, height_px: int) -> None:
        """``RomcamError`` unless the video has the capture's frame size (the roll is in its pixels)."""
        if (width_px, height_px) != (self.width_px, self.height_px):
            raise RomcamError(
                f"the neutral capture was {self.width_px}x{self.height_px}, this video is "
                f"{width_px}x{height_px}; capture neutral again with this camera setup"
            )

    def level(self, xy_px: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
        """Landmarks with the camera roll undone (the frame size must match the capture's)."""
        self.check_fits(width_px, height_px)
        return level_xy_px(xy_px, self.roll_deg, width_px, height_px)


def load_neutral(path: Path | None) -> NeutralProfile | None:
    return None if path is None else NeutralProfile.load(path)


def segment_lengths_px(xy_px: np.ndarray) -> dict[str, float]:
    """Median image length of each registry angle's moving segment (vertex to distal landmark)."""
    out = {}
    for name, d in REGISTRY.items():
        length = np.linalg.norm(xy_px[:, int(d.distal)] - xy_px[:, int(d.vertex)], axis=-1)
        if np.isfinite(length).any():
            out[name] = float(np.nanmedian(length))
    return out
