"""What every live session (measure, exercise, and the browser app) shares: the opened source and
model, and the cleaning stage built from the user's camera profile and neutral capture; the loop itself is
``pipeline.stream.drive``. Not a use case: use cases import it, it imports none."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from romcam.capture.camera_profile import load_profile
from romcam.capture.neutral_profile import NeutralProfile, load_neutral
from romcam.capture.source import FrameSource
from romcam.kinematics.filters import FilterSettings
from romcam.pipeline.live import LiveCleaner
from romcam.pose.models import DEFAULT_VARIANT, LoadedModel


def live_cleaner(
    settings: FilterSettings, camera_profile: Path | None, neutral: Path | None
) -> tuple[LiveCleaner, NeutralProfile | None]:
    """The causal cleaning stage with the corrections asked for, and the neutral capture (for its segment
    lengths and zero offsets)."""
    profile = load_profile(camera_profile)
    capture = load_neutral(neutral)
    return LiveCleaner(settings, profile.undistort if profile else None, capture.level if capture else None), capture


@contextmanager
def live_model(
    model: str | None, variant: str | None, preferred: str = DEFAULT_VARIANT
) -> Iterator[tuple[object, LoadedModel]]:
    """The verified model (``LoadedModel.load_preferred``) and its estimator (one pose followed), closed
    afterwards."""
    from romcam.pose.mediapipe_pose import MediaPipePose

    loaded = LoadedModel.load_preferred(model, variant, preferred)
    with MediaPipePose(loaded.data) as pose:
        yield pose, loaded


@contextmanager
def live_source(
    source: str, mirror: bool, model: str | None, variant: str | None, preferred: str = DEFAULT_VARIANT
) -> Iterator[tuple[FrameSource, object, LoadedModel]]:
    """The opened camera or video, the model's estimator and the verified model, closed afterwards; the
    source is opened first, so a missing camera fails before the model loads."""
    with FrameSource(source, mirror=mirror) as frames, live_model(model, variant, preferred) as (pose, loaded):
        yield frames, pose, loaded
