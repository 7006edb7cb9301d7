"""The subject followed with one tracked pose and occasional checks is the person a per-frame search for
everyone keeps (real MediaPipe inference on the shipped two-people clips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import clip_path, read_frames

from romcam.pose.mediapipe_pose import MediaPipePose
from romcam.pose.select import body_size_px, torso_center_px
from romcam.types import PoseFrame

pytestmark = pytest.mark.slow


def _follow(frames: list[np.ndarray], model: Path, everyone_every_frame: bool) -> tuple[list[PoseFrame | None], int]:
    with MediaPipePose(model, track_one=not everyone_every_frame) as pose:
        found = [pose.estimate(f, i / 30.0) for i, f in enumerate(frames)]
        return found, pose.checks


@pytest.mark.parametrize(
    "clip", ["hard_two_people_02_lab_bystander.mp4", "hard_two_people_03_lab_cgi_second_person.mp4"]
)
def test_tracking_one_pose_keeps_the_subject_a_full_search_keeps(clip: str, model_path: Path) -> None:
    frames = read_frames(clip_path(clip))
    cheap, checks = _follow(frames, model_path, everyone_every_frame=False)
    full, _ = _follow(frames, model_path, everyone_every_frame=True)
    assert sum(p is not None for p in cheap) >= 0.95 * sum(p is not None for p in full)
    for a, b in zip(cheap, full, strict=True):
        if a is not None and b is not None:  # the same person: torso centres within a tenth of a body
            assert np.linalg.norm(torso_center_px(a) - torso_center_px(b)) < 0.1 * body_size_px(b)
    assert checks <= 1 + len(frames) / 30.0  # looked for everyone now and then, not every frame


def test_a_check_beside_the_tracking_finds_what_one_after_it_finds(
    model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check due by the clock runs on a second thread while the tracking runs on the same frame: the poses and
    the checks are exactly those of running the check after the tracking."""
    from concurrent.futures import Future

    frames = read_frames(clip_path("hard_two_people_02_lab_bystander.mp4"))  # 100 frames, 3.3 s at 30 fps
    beside, checks_beside = _follow(frames, model_path, everyone_every_frame=False)

    def in_turn(self: MediaPipePose, image: object, size: tuple[int, int]) -> Future[list[PoseFrame]]:
        done: Future[list[PoseFrame]] = Future()
        done.set_result(self._everyone_in(image, size))
        return done

    monkeypatch.setattr(MediaPipePose, "_start_check", in_turn)
    after, checks_after = _follow(frames, model_path, everyone_every_frame=False)
    assert checks_beside == checks_after >= 2  # the first frame and 2 s later
    assert [p is None for p in beside] == [p is None for p in after]
    for a, b in zip(beside, after, strict=True):
        if a is not None and b is not None:
            np.testing.assert_array_equal(a.xy_px, b.xy_px)
