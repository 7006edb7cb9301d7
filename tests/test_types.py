"""The central pose type, subject selection, and the purity of the core."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import OUTSIDE

from romcam.landmarks import MIRROR, Landmark
from romcam.pose.select import SubjectTracker
from romcam.types import PoseFrame, PoseSequence, SequenceBuilder


def _seq(n: int = 4) -> PoseSequence:
    rng = np.random.default_rng(1)
    return PoseSequence(
        rng.random((n, 33, 2)) * 100, rng.random((n, 33, 3)), rng.random((n, 33)), np.arange(n) / 30, 640, 480
    )


def test_shapes_are_validated_and_arrays_read_only() -> None:
    seq = _seq()
    with pytest.raises(ValueError):
        seq.xy_px[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="xy_px must have shape"):
        PoseSequence(np.zeros((4, 32, 2)), seq.world_m, seq.visibility, seq.t_s, 640, 480)
    with pytest.raises(ValueError, match="strictly increasing"):
        PoseSequence(seq.xy_px, seq.world_m, seq.visibility, np.array([0, 1, 1, 2.0]), 640, 480)
    with pytest.raises(ValueError, match="frames but t_s has"):
        PoseSequence(seq.xy_px[:3], seq.world_m, seq.visibility, seq.t_s, 640, 480)


def test_npz_round_trip(tmp_path: Path) -> None:
    seq = _seq()
    seq.save_npz(tmp_path / "l.npz", '{"a": 1}')
    back = PoseSequence.load_npz(tmp_path / "l.npz")
    np.testing.assert_array_equal(back.xy_px, seq.xy_px)
    np.testing.assert_array_equal(back.t_s, seq.t_s)
    assert (back.width_px, back.height_px) == (640, 480)
    assert PoseSequence.load_npz_meta(tmp_path / "l.npz") == '{"a": 1}'


def test_mirror_map_swaps_sides_and_is_an_involution() -> None:
    assert MIRROR[Landmark.LEFT_KNEE] is Landmark.RIGHT_KNEE
    assert MIRROR[Landmark.NOSE] is Landmark.NOSE
    assert all(MIRROR[MIRROR[lm]] is lm for lm in Landmark)
    seq = _seq()
    twice = seq.mirrored().mirrored()
    np.testing.assert_allclose(twice.xy_px, seq.xy_px)


def _person(cx: float, size: float) -> PoseFrame:
    xy = np.full((33, 2), cx) + np.linspace(-size / 2, size / 2, 33)[:, None] * np.array([0.2, 1.0])
    return PoseFrame(xy, np.zeros((33, 3)), np.ones(33))


def test_tracker_keeps_the_subject_when_a_larger_bystander_appears() -> None:
    tracker = SubjectTracker()
    subject = _person(100, 200)
    assert tracker.step([subject], 0.0) is subject
    bystander = _person(600, 400)
    for i in range(1, 30):
        moved = _person(100 + i, 200)
        assert tracker.step([bystander, moved], i / 30) is moved
    assert tracker.step([bystander], 1.1) is None  # subject gone, bystander ignored for a while
    assert tracker.step([bystander], 2.5) is bystander  # after reacquire_s the only person is taken
    assert tracker.switches == 1


def test_kinematics_imports_neither_opencv_nor_mediapipe() -> None:
    code = (
        "import sys, romcam.kinematics.angles, romcam.kinematics.filters, romcam.kinematics.summary, "
        "romcam.pose.select, romcam.types; "
        "bad = [m for m in ('cv2', 'mediapipe') if m in sys.modules]; sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, cwd=OUTSIDE).returncode == 0


@pytest.mark.parametrize("spill", [False, True])
@pytest.mark.parametrize("n", [1, SequenceBuilder.BLOCK, SequenceBuilder.BLOCK + 1, 2 * SequenceBuilder.BLOCK + 5])
def test_sequence_builder_keeps_every_frame_across_blocks(n: int, spill: bool, tmp_path: Path) -> None:
    rng = np.random.default_rng(n)
    builder = SequenceBuilder(640, 480, spill_dir=tmp_path if spill else None)
    frames: list[PoseFrame | None] = []
    for i in range(n):
        frame = None if i % 7 == 3 else PoseFrame(rng.random((33, 2)), rng.random((33, 3)), rng.random(33))
        builder.append(frame, i / 30.0)
        frames.append(frame)
    built = builder.build()
    expected = PoseSequence.from_frames(frames, np.arange(n) / 30.0, 640, 480)
    for name in ("xy_px", "world_m", "visibility", "t_s"):
        np.testing.assert_array_equal(getattr(built, name), getattr(expected, name))
    assert not built.xy_px.flags.writeable and len(builder) == 0  # handed over, not held twice
    assert list(tmp_path.iterdir()) == []  # spilled frames live in unnamed files: nothing is left behind


def test_spilled_landmarks_are_held_on_disk_not_in_memory(tmp_path: Path) -> None:
    """While frames come in, a spilling builder holds one block; the rest is in its files."""
    builder = SequenceBuilder(640, 480, spill_dir=tmp_path)
    frame = PoseFrame(np.ones((33, 2)), np.ones((33, 3)), np.ones(33))
    for i in range(3 * SequenceBuilder.BLOCK + 1):
        builder.append(frame, i / 30.0)
    assert len(builder._blocks) == 1
    sizes = [os.fstat(f.fileno()).st_size for f in builder._files or []]
    assert sizes == [3 * SequenceBuilder.BLOCK * 8 * k for k in (66, 99, 33, 1)]
    built = builder.build()
    assert isinstance(built.xy_px, np.memmap) and float(built.world_m[-1, 32, 2]) == 1.0
