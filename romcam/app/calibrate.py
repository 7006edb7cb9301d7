"""``romcam calibrate neutral``: camera roll and the person's zero offsets from a neutral capture."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from romcam.capture.neutral_profile import NeutralProfile, segment_lengths_px
from romcam.capture.source import FrameSource
from romcam.errors import RomcamError
from romcam.kinematics.filters import FilterSettings
from romcam.kinematics.neutral import camera_roll_deg, level_xy_px, moved_angles_deg, zero_offsets_deg
from romcam.output.tables import write_json
from romcam.pipeline.stream import estimate_sequence
from romcam.pose.models import DEFAULT_VARIANT, LoadedModel
from romcam.rules.frame_flags import flagged_any
from romcam.thresholds import NEUTRAL_MAX_SPREAD_DEG
from romcam.types import PoseSequence


def neutral_from_sequence(sequence: PoseSequence) -> NeutralProfile:
    """Roll from the trunk axis, then the zero offsets of the levelled angles."""
    from romcam.pipeline.offline import angles_from_sequence, clean_offline

    if not sequence.detected.any():
        raise RomcamError("no person detected in the neutral capture")
    xy, _ = angles_from_sequence(sequence, FilterSettings())
    roll = camera_roll_deg(xy)
    level = sequence.with_xy(level_xy_px(sequence.xy_px, roll, sequence.width_px, sequence.height_px))
    level_xy, angles = angles_from_sequence(level, FilterSettings())
    measured = clean_offline(level, FilterSettings())  # judged on the frames romcam would trust for each angle
    trusted = {n: np.where(flagged_any(measured.flags[n]), np.nan, v) for n, v in measured.angles.items()}
    moved = moved_angles_deg(trusted, NEUTRAL_MAX_SPREAD_DEG)
    if moved:
        joints = ", ".join(f"{name.replace('_', ' ')} {spread:.0f} deg" for name, spread in list(moved.items())[:3])
        raise RomcamError(
            f"the person moved during the neutral capture ({joints}; at most {NEUTRAL_MAX_SPREAD_DEG:g} deg from the "
            "5th to the 95th percentile): stand still, arms at your sides, for the whole capture, and run it again"
        )
    return NeutralProfile(
        roll,
        sequence.width_px,
        sequence.height_px,
        zero_offsets_deg(angles),
        len(sequence),
        segment_lengths_px(level_xy),
    )


def neutral_from_source(source: str | None, landmarks: Path | None, out_dir: Path) -> NeutralProfile:
    """From a video (the model runs; its landmarks are saved in ``out_dir``) or from saved landmarks."""
    if landmarks is None:
        landmarks = out_dir / "landmarks.npz"
        _estimate_landmarks(str(source)).save_npz(landmarks)
    try:
        sequence = PoseSequence.load_npz(landmarks)
    except (OSError, ValueError) as exc:
        raise RomcamError(f"cannot read landmarks from {landmarks}: {exc}") from exc
    profile = neutral_from_sequence(sequence)
    write_json(out_dir / "neutral.json", {"roll_deg": profile.roll_deg, "zero_offsets_deg": profile.zero_offsets_deg})
    return profile


def _estimate_landmarks(source: str) -> PoseSequence:
    """The landmarks of every frame of ``source`` (the full model, as ``analyze`` runs it)."""
    from romcam.pose.mediapipe_pose import MediaPipePose

    with FrameSource(source) as frames:
        model = LoadedModel.load(None, DEFAULT_VARIANT)
        with MediaPipePose(model.data) as pose:
            sequence, _ = estimate_sequence(frames, pose)
    if sequence is None:
        raise RomcamError(f"{source}: no frame could be decoded (corrupt or not a video)")
    return sequence
