"""A long recording is cleaned in blocks (bounded memory, all cores): the result is the whole clip's cleaning."""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from conftest import OUTSIDE, SAMPLES, require
from test_sides import _swap_limbs, _walk

from romcam.kinematics.filters import FilterSettings
from romcam.kinematics.sides import GLITCH_SEGMENTS, apply_swaps, clip_reference_px, segment_length_px
from romcam.landmarks import Landmark as L
from romcam.output.words import summary_record
from romcam.pipeline.evaluate import build_summary
from romcam.pipeline.offline import Measured, block_bounds, block_length, clean_offline, clip_labels
from romcam.types import PoseSequence, release_rows

FPS = 30.0


def _troubled_walk(n: int, seed: int = 3) -> PoseSequence:
    """Side-view walking with everything the cleaning repairs or flags, much of it on the blocks' edges: label
    swaps, a knee misplaced for a few frames, spikes, short and long gaps, hidden points, a scene cut."""
    rng = np.random.default_rng(seed)
    xy = _walk(n) + rng.normal(0, 1.0, (n, 33, 2))
    # swaps across the blocks' edges (300, 400, 600, 800...), one right after a gap that crosses an edge (the
    # tracks it is judged against come from the block before)
    xy = _swap_limbs(xy, [403, 404, 598, 599, 600, 601, 799, 800, 801, 1000, 1001, 1002])
    knee, hip = int(L.LEFT_KNEE), int(L.LEFT_HIP)
    xy[404:407, knee] = xy[404:407, hip] + 0.6 * (xy[404:407, knee] - xy[404:407, hip])  # misplaced for 3 frames
    for frame in (205, 597, 603, 1190):  # momentary outliers
        xy[frame, int(L.RIGHT_WRIST)] += np.array([80.0, -60.0])
    xy[397:403, :] = np.nan  # a short gap across the first block's end...
    xy[780:900, :] = np.nan  # ...and a long one across the second's
    xy[1000:, :, 0] += 300.0  # the subject jumps: a cut in the scene
    visibility = np.where(rng.random((n, 33)) < 0.03, 0.2, 0.95)
    world = rng.normal(0, 0.3, (n, 33, 3))
    return PoseSequence(xy, world, visibility, np.arange(n) / FPS, 1280, 720)


def _assert_same(blocks: Measured, whole: Measured) -> None:
    assert blocks.angles.keys() == whole.angles.keys()
    for name, values in whole.angles.items():
        np.testing.assert_allclose(blocks.angles[name], values, atol=1e-6, equal_nan=True, err_msg=name)
        for code, mask in whole.flags[name].items():
            np.testing.assert_array_equal(blocks.flags[name][code], mask, err_msg=f"{name} {code}")
    np.testing.assert_allclose(blocks.xy_px, whole.xy_px, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(blocks.view_codes, whole.view_codes)
    np.testing.assert_array_equal(blocks.sequence.visibility, whole.sequence.visibility)
    assert blocks.info == whole.info


def test_blocks_give_the_whole_clip_cleaning() -> None:
    sequence = _troubled_walk(1300)
    whole = clean_offline(sequence, FilterSettings())
    blocks = clean_offline(sequence, FilterSettings(), block_frames=400)
    repair = whole.info["left_right_repair"]
    assert repair["leg_frames_swapped"] >= 6 and repair["leg_frames_misplaced"] >= 3  # the repair had work
    flagged = whole.flags["left_knee_flexion"]
    assert flagged["interpolated"].any() and flagged["repaired"].any() and flagged["jump"].any()
    _assert_same(blocks, whole)
    _assert_same(clean_offline(sequence, FilterSettings(), block_frames=400, workers=1), blocks)  # threads or not
    summaries = [summary_record(build_summary(m, {}, {}, FilterSettings())) for m in (blocks, whole)]
    assert _rounded(summaries[0]) == _rounded(summaries[1])  # the summary.json each gives


def _rounded(record: object) -> object:
    """A JSON-like record with its floats rounded to 6 decimals (the blocks agree to 1e-6)."""
    if isinstance(record, dict):
        return {key: _rounded(value) for key, value in record.items()}
    if isinstance(record, list | tuple):
        return [_rounded(value) for value in record]
    return round(record, 6) if isinstance(record, float) else record


@pytest.mark.parametrize("n", [8193, 20000, 108000, 1_000_000])
@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_block_length_gives_each_thread_as_many_blocks_as_few_as_fit(n: int, workers: int) -> None:
    most = 16384
    length = block_length(n, workers, most)
    blocks = -(-n // length)
    assert length <= most
    assert blocks % workers == 0 or blocks < workers  # every thread as many blocks, but for very short clips
    assert blocks - workers < -(-n // most) or blocks <= workers  # no more rounds than blocks of ``most`` need
    assert n - (blocks - 1) * length > 0  # the last block is not empty
    if n == 108000 and workers == 2:
        assert (length, blocks) == (13500, 8)  # an hour at 30 fps on 2 cores
        assert block_length(n, workers) == 10800  # with the default longest block


def test_automatic_blocks_give_the_whole_clip_cleaning() -> None:
    sequence = _troubled_walk(9000)  # longer than BLOCK_FRAMES: blocks of block_length, on all cores
    whole = clean_offline(sequence, FilterSettings(), block_frames=10**6)
    _assert_same(clean_offline(sequence, FilterSettings()), whole)


def test_clip_reference_lengths_are_those_of_the_repaired_labels() -> None:
    sequence = _troubled_walk(1300)
    labels = clip_labels(sequence, FilterSettings(), block_bounds(1300, 400), repair=True)
    assert labels.swapped.any()  # the walk's swaps were found, so some lengths come from the swapped pairs
    xy, _ = apply_swaps(sequence.xy_px, sequence.visibility, labels.swapped)
    for pair in GLITCH_SEGMENTS:
        assert labels.glitch_reference_px[pair] == clip_reference_px(segment_length_px(xy, *pair)), pair


def test_blocks_keep_a_neutral_capture_and_the_choice_of_angles() -> None:
    sequence = _troubled_walk(1300, seed=5)
    names = ("left_knee_flexion", "right_elbow_flexion", "trunk_flexion")
    kwargs = {"reference_lengths_px": {"left_knee_flexion": 80.0}, "repair_left_right": False}
    whole = clean_offline(sequence, FilterSettings(), names, **kwargs)  # type: ignore[arg-type]
    blocks = clean_offline(sequence, FilterSettings(), names, block_frames=250, **kwargs)  # type: ignore[arg-type]
    assert whole.info["left_right_repair"] is None
    _assert_same(blocks, whole)


@pytest.mark.parametrize("kind", ["one_euro", "none"])
def test_blocks_with_other_filters(kind: str) -> None:
    """The causal One Euro filter remembers the whole past, but less and less: after the margin a block's start
    no longer shows."""
    sequence = _troubled_walk(1300, seed=7)
    settings = FilterSettings(kind=kind)
    _assert_same(clean_offline(sequence, settings, block_frames=300), clean_offline(sequence, settings))


@pytest.mark.slow
def test_blocks_on_real_landmarks_with_label_swaps(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The march clip, every frame detected anew (MediaPipe swaps the legs there), cut into blocks of 60 frames."""
    from romcam.app.analyze import AnalyzeConfig, run_analyze

    out = tmp_path_factory.mktemp("march")
    clip = require(SAMPLES / "rendered_march_side_left.mp4")
    run_analyze(AnalyzeConfig(out_dir=out, source=str(clip), write_video=False, track_one_pose=False))
    sequence = PoseSequence.load_npz(out / "landmarks.npz")
    whole = clean_offline(sequence, FilterSettings())
    assert whole.info["left_right_repair"]["leg_frames_swapped"] > 0
    _assert_same(clean_offline(sequence, FilterSettings(), block_frames=60), whole)


def _rss_file_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile"))


def test_released_pages_leave_memory_and_read_back_the_same() -> None:
    rows = 4096
    values = np.arange(rows * 2048, dtype=np.float64).reshape(rows, 2048)  # 64 MiB
    with tempfile.TemporaryFile() as file:
        file.write(values.tobytes())
        file.flush()
        mapped = np.memmap(file, dtype=np.float64, mode="r", shape=values.shape)
        before = _rss_file_kb()
        assert float(mapped.sum()) == float(values.sum())  # every page read: resident
        resident = _rss_file_kb()
        assert resident - before > 48 * 1024
        release_rows(mapped, 0, rows // 2)
        half = _rss_file_kb()
        assert resident - half > 24 * 1024 - mmap.PAGESIZE // 1024
        release_rows(mapped, rows // 2, rows)
        assert _rss_file_kb() - before < 8 * 1024
        np.testing.assert_array_equal(mapped, values)  # read again from the file
        release_rows(values, 0, rows)  # an array in memory is left alone
        assert float(values[-1, -1]) == rows * 2048 - 1


LARGE_PAGES_AFTER_BLOCKS = """
import numpy as np
from romcam.kinematics.filters import FilterSettings
from romcam.pipeline.offline import clean_offline
from romcam.types import PoseSequence
try:
    from numpy._core import multiarray  # numpy 2
except ImportError:
    from numpy.core import multiarray  # numpy 1
n = 600
xy = 300.0 + np.random.default_rng(0).normal(0.0, 40.0, (n, 33, 2))
sequence = PoseSequence(xy, np.zeros((n, 33, 3)), np.full((n, 33), 0.9), np.arange(n) / 30.0, 640, 480)
clean_offline(sequence, FilterSettings(), block_frames=200, workers=1)
print(multiarray._set_madvise_hugepage(True))  # returns the setting it replaces
"""
"""Cleans a recording in blocks in a fresh process, then prints whether numpy still advised large pages."""


@pytest.mark.parametrize("variable", [None, "1", "0"])
def test_cleaning_in_blocks_turns_off_large_pages_unless_the_user_chose(variable: str | None) -> None:
    """numpy's advice to back new large arrays with transparent huge pages is off after a long recording is
    cleaned (``small_pages_for_new_arrays``: their first writes were slow in a virtual machine); where the user set
    ``NUMPY_MADVISE_HUGEPAGE``, it is what the user chose."""
    env = {key: value for key, value in os.environ.items() if key != "NUMPY_MADVISE_HUGEPAGE"}
    if variable is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = variable
    run = subprocess.run(
        [sys.executable, "-c", LARGE_PAGES_AFTER_BLOCKS],
        env=env,
        cwd=OUTSIDE,  # the installed romcam, not the checkout's
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1] == str(variable == "1")


def test_tracks_at_a_block_start_come_from_as_far_back_as_needed() -> None:
    """A point unseen for longer than the first look back (and one never seen) is found where the whole prefix
    last shows it."""
    from romcam.kinematics.sides import group_points, last_seen
    from romcam.pipeline.offline import tracks_before

    sequence = _troubled_walk(1300)
    xy = np.array(sequence.xy_px)
    xy[400:1000, int(L.LEFT_KNEE)] = np.nan  # unseen for 600 frames before frame 1000
    xy[:, int(L.RIGHT_THUMB)] = np.nan  # never seen
    sequence = PoseSequence(xy, sequence.world_m, sequence.visibility, sequence.t_s, 1280, 720)
    for group in ("leg", "arm"):
        for start in (0, 1, 65, 1000, 1299):
            want = last_seen(group_points(xy[:start], group))  # all NaN for no frames
            np.testing.assert_array_equal(tracks_before(sequence, group, start), want)
