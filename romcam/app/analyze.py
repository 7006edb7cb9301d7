"""``romcam analyze``: a recorded clip (or saved landmarks) in, angles, summary, plots and video out."""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from romcam.capture.source import FrameSource
from romcam.errors import RomcamError
from romcam.fileio import check_output_dir, remove_outputs
from romcam.kinematics.angles import resolve_angle_names
from romcam.kinematics.filters import FilterSettings
from romcam.output.exports import write_exports
from romcam.output.overlay import AnnotatedVideoWriter, draw_angles, draw_skeleton, frame_labels, put_label
from romcam.output.plot import plot_angles
from romcam.output.tables import to_json, write_angles_csv, write_json
from romcam.output.words import summary_record
from romcam.pipeline.evaluate import build_summary, flag_columns
from romcam.pipeline.offline import Measured, clean_offline
from romcam.pipeline.stream import estimate_sequence
from romcam.pose.models import LoadedModel, ResolvedModel
from romcam.results import ClipSummary
from romcam.rules.frame_flags import flagged_any
from romcam.types import PoseSequence, ProgressFn, VideoInfo

log = logging.getLogger(__name__)


OUTPUT_FILES = (
    "angles.csv",
    "summary.json",
    "landmarks.npz",
    "annotated.mp4",
    "angles.png",
    "angles.mot",
    "landmarks.trc",
    "landmarks.c3d",
)
"""The files ``analyze`` writes into its folder."""


class NoPersonError(RomcamError):
    """The clip was read but nobody was detected in it."""


@dataclass(frozen=True)
class AnalyzeConfig:
    """Everything ``analyze`` needs; build with ``dataclasses.replace``."""

    out_dir: Path
    source: str | None = None
    from_landmarks: Path | None = None
    model: str | None = None
    model_variant: str = "full"
    filter: FilterSettings = field(default_factory=FilterSettings)
    angles: tuple[str, ...] | None = None
    mirror: bool = False
    write_video: bool = True
    num_poses: int = 2
    track_one_pose: bool = True  # track one pose, look for everyone now and then (MediaPipePose.track_one)
    stride: int = 1
    camera_profile: Path | None = None
    repair_left_right: bool = True
    neutral: Path | None = None
    exports: tuple[str, ...] = ()  # of output.exports.EXPORT_FILES: "mot", "trc", "c3d"


@dataclass
class AnalyzeResult:
    """What a run produced: the summary written to ``summary.json`` and the files."""

    summary: ClipSummary
    files: dict[str, Path]
    interrupted: bool = False


def _run_model(
    config: AnalyzeConfig, progress: ProgressFn | None, loaded: LoadedModel | None
) -> tuple[PoseSequence, VideoInfo, ResolvedModel, bool]:
    from romcam.pose.mediapipe_pose import MediaPipePose

    assert config.source is not None
    with FrameSource(config.source, mirror=config.mirror, stride=config.stride) as source:
        loaded = loaded or LoadedModel.load(config.model, config.model_variant)
        model = loaded.resolved
        with MediaPipePose(loaded.data, num_poses=config.num_poses, track_one=config.track_one_pose) as pose:
            sequence, interrupted = estimate_sequence(source, pose, progress, spill_dir=config.out_dir)
        if sequence is None:
            raise RomcamError(f"{config.source}: no frame could be decoded (corrupt or not a video)")
        return sequence, source.info, model, interrupted


def _load_landmarks(path: Path) -> tuple[PoseSequence, dict[str, Any]]:
    if not path.is_file():
        raise RomcamError(f"no such landmarks file: {path}")
    try:
        sequence = PoseSequence.load_npz(path)
        meta = json.loads(PoseSequence.load_npz_meta(path))
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise RomcamError(f"cannot read landmarks from {path}: {exc}") from exc
    if not isinstance(meta, dict):
        raise RomcamError(f"cannot read landmarks from {path}: its metadata is not a JSON object")
    if len(sequence) == 0:
        raise RomcamError(f"{path} holds no frames")
    return sequence, meta


def _write_annotated_video(
    path: Path,
    config: AnalyzeConfig,
    info: VideoInfo,
    xy: np.ndarray,
    angles: dict[str, np.ndarray],
    flags: dict[str, dict[str, np.ndarray]],
) -> None:
    assert config.source is not None
    writer = AnnotatedVideoWriter(path, info.fps / config.stride, info.width_px, info.height_px)
    try:
        with FrameSource(config.source, mirror=config.mirror, stride=config.stride) as source:
            for i, frame in enumerate(source):
                if i >= len(xy):
                    break
                bgr = frame.bgr.copy()
                draw_skeleton(bgr, xy[i])
                draw_angles(bgr, xy[i], {n: float(v[i]) for n, v in angles.items()}, frame_labels(flags, i))
                put_label(bgr, f"t = {frame.t_s:5.2f} s", (10, 30))
                writer.write(bgr)
    except BaseException:
        writer.discard()
        raise
    writer.close()


def _undistorted(sequence: PoseSequence, path: Path) -> tuple[PoseSequence, dict[str, Any]]:
    """The sequence with landmark pixels undistorted by a camera profile, and what to record about it."""
    from romcam.capture.camera_profile import CameraProfile, check_profile_fits, undistort_xy_px

    profile = CameraProfile.load(path)
    check_profile_fits(profile, sequence.width_px, sequence.height_px)
    info = {"file": str(path), "rms_reprojection_px": profile.rms_px, "dist_coeffs": profile.dist_coeffs.tolist()}
    return sequence.with_xy(undistort_xy_px(sequence.xy_px, profile)), info


def measure_sequence(sequence: PoseSequence, config: AnalyzeConfig, names: tuple[str, ...] | None = None) -> Measured:
    """Undistort (camera profile) and level (neutral capture) as ``config`` says, then the offline pipeline;
    ``info`` holds what each correction did, for ``summary.json``."""
    profile_info: dict[str, Any] | None = None
    if config.camera_profile is not None:
        sequence, profile_info = _undistorted(sequence, config.camera_profile)
    neutral_info: dict[str, Any] | None = None
    neutral = None
    if config.neutral is not None:
        from romcam.capture.neutral_profile import NeutralProfile

        neutral = NeutralProfile.load(config.neutral)
        neutral.check_fits(sequence.width_px, sequence.height_px)
        neutral_info = {"file": str(config.neutral), "roll_deg": neutral.roll_deg}
    measured = clean_offline(
        sequence,
        config.filter,
        names,
        repair_left_right=config.repair_left_right,
        roll_deg=neutral.roll_deg if neutral else None,
        reference_lengths_px=neutral.segment_lengths_px if neutral else None,
    )
    measured.info.update({"camera_profile": profile_info, "neutral": neutral_info})
    return measured


def _write_tables(
    out: Path,
    config: AnalyzeConfig,
    sequence: PoseSequence,
    angles: dict[str, np.ndarray],
    flags: dict[str, dict[str, np.ndarray]],
) -> dict[str, Path]:
    """angles.csv, the chosen exports and angles.png; returns them by kind."""
    files = {"angles": out / "angles.csv"}
    write_angles_csv(files["angles"], sequence.t_s, angles, flag_columns(angles, flags))
    for path in write_exports(out, config.exports, sequence.t_s, angles, sequence.world_m):
        files[path.suffix.lstrip(".")] = path
    files["plot"] = out / "angles.png"
    flagged = {name: flagged_any(flags[name]) for name in angles}
    plot_angles(
        files["plot"], sequence.t_s, angles, flagged, title=Path(str(config.source or config.from_landmarks)).name
    )
    return files


def run_analyze(
    config: AnalyzeConfig, progress: ProgressFn | None = None, model: LoadedModel | None = None
) -> AnalyzeResult:
    """Measure every angle through a clip and write the outputs into ``config.out_dir``.

    ``model`` is a model already loaded (batch workers load it once); by default it is resolved here.
    Raises ``NoPersonError`` (after writing ``summary.json`` and ``landmarks.npz``) when nobody was
    detected, and ``RomcamError`` for unreadable input.
    """
    names = resolve_angle_names(config.angles)
    out = config.out_dir
    check_output_dir(out)
    own_landmarks = (
        config.from_landmarks is not None and config.from_landmarks.resolve() == (out / "landmarks.npz").resolve()
    )
    # an earlier run's files never stay beside this run's; re-analysing the folder's own landmarks keeps
    # them and the video made from them
    remove_outputs(out, [f for f in OUTPUT_FILES if not (own_landmarks and f in ("landmarks.npz", "annotated.mp4"))])
    files = {"landmarks": out / "landmarks.npz", "summary": out / "summary.json"}
    interrupted = False
    if config.from_landmarks is not None:
        sequence, meta = _load_landmarks(config.from_landmarks)
        video, model_info = meta.get("video", {}), meta.get("model", {})
        if config.from_landmarks.resolve() != files["landmarks"].resolve():
            sequence.save_npz(files["landmarks"], json.dumps(meta))
        config = replace(config, write_video=False)
    else:
        sequence, info, resolved, interrupted = _run_model(config, progress, model)
        video = {**asdict(info), "interrupted": interrupted, "stride": config.stride}
        model_info = resolved.describe()
        sequence.save_npz(files["landmarks"], to_json({"video": video, "model": model_info}))
        sequence.release_pages()  # the landmarks mapped from the spill files leave memory until read again

    m = measure_sequence(sequence, config, names)
    sequence, xy, angles, flags = m.sequence, m.xy_px, m.angles, m.flags
    summary = build_summary(m, video, model_info, config.filter)
    write_json(files["summary"], summary_record(summary))
    if summary.status == "no_person":
        raise NoPersonError(
            f"no person detected in any of the {len(sequence)} frames of {config.source or config.from_landmarks}"
        )
    files |= _write_tables(out, config, sequence, angles, flags)
    if config.write_video and not interrupted:
        files["video"] = out / "annotated.mp4"
        _write_annotated_video(files["video"], config, info, xy, angles, flags)
    return AnalyzeResult(summary, files, interrupted)
