"""What every live session (measure, exercise, and the browser app to come) shares: its cleaning stage built
from the user's camera profile and neutral capture. Not a use case: use cases import it, it imports none."""

from __future__ import annotations

from pathlib import Path

from romcam.capture.camera_profile import load_profile
from romcam.capture.neutral_profile import NeutralProfile, load_neutral
from romcam.kinematics.filters import FilterSettings
from romcam.pipeline.live import LiveCleaner


def live_cleaner(
    settings: FilterSettings, camera_profile: Path | None, neutral: Path | None
) -> tuple[LiveCleaner, NeutralProfile | None]:
    """The causal cleaning stage with the corrections asked for, and the neutral capture (for its segment
    lengths and zero offsets)."""
    profile = load_profile(camera_profile)
    capture = load_neutral(neutral)
    return LiveCleaner(settings, profile.undistort if profile else None, capture.level if capture else None), capture
