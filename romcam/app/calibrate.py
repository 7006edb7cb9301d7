"""``romcam calibrate neutral``: camera roll and the person's zero offsets from a neutral capture."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from romcam.errors import RomcamError
from romcam.fileio import write_text_atomic
from romcam.kinematics.filters import FilterSettings
from romcam.kinematics.neutral import camera_roll_deg, level_xy_px, zero_offsets_deg
from romcam.types import PoseSequence


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

    def level(self, xy_px: np.ndarray, width_px: int, height_px: int) -> np.ndarray:
        """Landmarks with the camera roll undone (the frame size must match the capture's)."""
        if (width_px, height_px) != (self.width_px, self.height_px):
            raise RomcamError(
                f"the neutral capture was {self.width_px}x{self.height_px}, this video is "
                f"{width_px}x{height_px}; capture neutral again with this camera setup"
            )
        return level_xy_px(xy_px, self.roll_deg, width_px, height_px)


def load_neutral(path: Path | None) -> NeutralProfile | None:
    return None if path is None else NeutralProfile.load(path)


def neutral_from_sequence(sequence: PoseSequence) -> NeutralProfile:
    """Roll from the trunk axis, then the zero offsets of the levelled angles."""
    from romcam.app.analyze import angles_from_sequence

    if not sequence.detected.any():
        raise RomcamError("no person detected in the neutral capture")
    xy, _ = angles_from_sequence(sequence, FilterSettings())
    roll = camera_roll_deg(xy)
    level = sequence.with_xy(level_xy_px(sequence.xy_px, roll, sequence.width_px, sequence.height_px))
    level_xy, angles = angles_from_sequence(level, FilterSettings())
    return NeutralProfile(
        roll,
        sequence.width_px,
        sequence.height_px,
        zero_offsets_deg(angles),
        len(sequence),
        segment_lengths_px(level_xy),
    )


def segment_lengths_px(xy_px: np.ndarray) -> dict[str, float]:
    """Median image length of each registry angle's moving segment (vertex to distal landmark)."""
    from romcam.kinematics.angles import REGISTRY

    out = {}
    for name, d in REGISTRY.items():
        length = np.linalg.norm(xy_px[:, int(d.distal)] - xy_px[:, int(d.vertex)], axis=-1)
        if np.isfinite(length).any():
            out[name] = float(np.nanmedian(length))
    return out


def neutral_from_source(source: str | None, landmarks: Path | None, out_dir: Path) -> NeutralProfile:
    """From a video (the model runs) or from saved landmarks."""
    from romcam.app.analyze import AnalyzeConfig, run_analyze

    if landmarks is None:
        run_analyze(AnalyzeConfig(out_dir=out_dir, source=source, write_video=False))
        landmarks = out_dir / "landmarks.npz"
    try:
        sequence = PoseSequence.load_npz(landmarks)
    except (OSError, ValueError) as exc:
        raise RomcamError(f"cannot read landmarks from {landmarks}: {exc}") from exc
    profile = neutral_from_sequence(sequence)
    write_text_atomic(
        out_dir / "neutral.json",
        json.dumps({"roll_deg": profile.roll_deg, "zero_offsets_deg": profile.zero_offsets_deg}, indent=2),
    )
    return profile
