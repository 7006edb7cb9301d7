"""``romcam analyze``: a recorded clip (or saved landmarks) in, angles, summary, plots and video out."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import romcam
from romcam.capture.source import FrameSource
from romcam.errors import RomcamError
from romcam.fileio import remove_outputs
from romcam.kinematics.angles import REGISTRY, compute_angles_deg, resolve_angle_names
from romcam.kinematics.filters import FilterSettings, clean_trajectories, mask_low_visibility
from romcam.kinematics.summary import summarize_angle
from romcam.output.overlay import AnnotatedVideoWriter, draw_angles, draw_skeleton, put_label
from romcam.output.plot import plot_angles
from romcam.output.tables import to_json, write_angles_csv, write_json
from romcam.pose.models import ResolvedModel, resolve_model
from romcam.rules.frame_flags import (
    all_angle_flags,
    angle_jumps,
    flag_text,
    flagged_any,
    frame_evidence,
    window_flag_words,
)
from romcam.rules.view import PLANE_VIEW, VIEW_WORDS, classify_view
from romcam.types import PoseFrame, PoseSequence, VideoInfo

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


OUTPUT_FILES = ("angles.csv", "summary.json", "landmarks.npz", "annotated.mp4", "angles.png")
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
    stride: int = 1
    camera_profile: Path | None = None
    repair_left_right: bool = True
    neutral: Path | None = None


@dataclass
class AnalyzeResult:
    """What a run produced: the summary written to ``summary.json`` and the files."""

    summary: dict[str, Any]
    files: dict[str, Path]
    interrupted: bool = False


def check_output_dir(out_dir: Path) -> None:
    """Create ``out_dir`` and prove it is writable before any long work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out_dir, prefix=".romcam-write-test")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise RomcamError(f"cannot write to output directory {out_dir}: {exc.strerror or exc}") from exc


def estimate_sequence(
    source: FrameSource, estimator: Any, progress: ProgressFn | None = None
) -> tuple[PoseSequence | None, bool]:
    """Run ``estimator.estimate`` on every frame; returns the sequence and whether Ctrl-C cut it short."""
    frames: list[PoseFrame | None] = []
    times: list[float] = []
    interrupted = False
    total = source.info.frame_count_header
    try:
        for frame in source:
            rgb = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2RGB)
            frames.append(estimator.estimate(rgb, frame.t_s))
            times.append(frame.t_s)
            if progress:
                progress(len(frames), total)
    except KeyboardInterrupt:
        interrupted = True
    if not frames:
        return None, interrupted
    return PoseSequence.from_frames(frames, times, source.info.width_px, source.info.height_px), interrupted


@dataclass(frozen=True)
class LoadedModel:
    """A verified model and its bytes, loaded once and reused for many clips (one graph per clip)."""

    resolved: ResolvedModel
    data: bytes

    @classmethod
    def load(cls, path: str | None, variant: str) -> LoadedModel:
        resolved = resolve_model(path, variant)
        return cls(resolved, resolved.load_verified())


def _run_model(
    config: AnalyzeConfig, progress: ProgressFn | None, loaded: LoadedModel | None
) -> tuple[PoseSequence, VideoInfo, ResolvedModel, bool]:
    from romcam.pose.mediapipe_pose import MediaPipePose

    assert config.source is not None
    with FrameSource(config.source, mirror=config.mirror, stride=config.stride) as source:
        loaded = loaded or LoadedModel.load(config.model, config.model_variant)
        model = loaded.resolved
        with MediaPipePose(loaded.data, num_poses=config.num_poses) as pose:
            sequence, interrupted = estimate_sequence(source, pose, progress)
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


def angles_from_sequence(
    sequence: PoseSequence, settings: FilterSettings, names: tuple[str, ...] | None = None
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Clean the trajectories as ``settings`` says, then compute the angles; returns (xy_px, angles)."""
    xy = clean_trajectories(sequence.xy_px, sequence.visibility, sequence.t_s, settings)
    return xy, compute_angles_deg(xy, names)


MIN_VIEW_OK_FRACTION = 0.5


def view_check(plane: str, views: np.ndarray, measured: np.ndarray) -> tuple[float | None, list[str]]:
    """Share of the measured frames seen from the view the angle's plane needs, and a flag when most are not."""
    if plane not in PLANE_VIEW or not measured.any():
        return None, []
    needed = PLANE_VIEW[plane]
    share = float(np.mean(views[measured] == needed))
    flags = [f"unreliable: camera not {VIEW_WORDS[needed]}"] if share < MIN_VIEW_OK_FRACTION else []
    return share, flags


def angle_confidence(
    sequence: PoseSequence,
    d: Any,
    values: np.ndarray,
    view_ok: float | None,
    flags: dict[str, np.ndarray] | None = None,
) -> dict[str, object]:
    """Confidence of an angle over a clip: visibility of its three landmarks where it was measured, the
    share of those frames seen from the right view, the share of frames it was measured at all and,
    with per-frame ``flags``, the shares of measured frames on the near side and with the limb in the
    image plane (not foreshortened)."""
    from romcam.rules.confidence import confidence, view_score, visibility_score

    measured = np.isfinite(values)
    if not measured.any():
        return confidence({})
    vis = sequence.visibility[measured][:, [int(d.vertex), int(d.proximal), int(d.distal)]]
    components = {
        "visibility": visibility_score(float(np.nanmean(vis))) if np.isfinite(vis).any() else float("nan"),
        "view": view_score(1.0 if view_ok is None else view_ok),
        "coverage": float(measured.mean()),
    }
    if flags is not None and d.side:
        components["near_side"] = 1.0 - float(flags["far_side"][measured].mean())
        components["in_plane"] = 1.0 - float(flags["foreshortened"][measured].mean())
    return confidence(components)


def build_summary(
    sequence: PoseSequence,
    xy_px: np.ndarray,
    angles: dict[str, np.ndarray],
    video: dict[str, Any],
    model: dict[str, Any],
    settings: FilterSettings,
    flags: dict[str, dict[str, np.ndarray]] | None = None,
) -> dict[str, Any]:
    """The content of ``summary.json``; ``flags`` (``rules.frame_flags``) adds per-angle flag counts."""
    per_angle = {}
    views = classify_view(xy_px)
    for name, values in angles.items():
        stats = asdict(summarize_angle(name, values, sequence.t_s))
        stats.pop("name")
        d = REGISTRY[name]
        ok, view_flags = view_check(d.plane, views, np.isfinite(values))
        if flags is not None:
            view_flags += window_flag_words(flags[name], np.isfinite(values))
        per_angle[name] = {
            **stats,
            "plane": d.plane,
            "zero": d.zero,
            "sign": d.sign,
            "view_ok_fraction": ok,
            "flags": view_flags,
            "confidence": angle_confidence(sequence, d, values, ok, flags[name] if flags is not None else None),
            **(flag_counts(values, flags[name]) if flags is not None else {}),
        }
    detected = sequence.detected
    return {
        "romcam_version": romcam.__version__,
        "status": "ok" if detected.any() else "no_person",
        "warnings": list(video.get("notes", [])),
        "video": video,
        "frames": {
            "count": len(sequence),
            "with_person": int(detected.sum()),
            "person_fraction": float(detected.mean()) if len(sequence) else 0.0,
        },
        "model": model,
        "filter": asdict(settings),
        "angles": per_angle,
    }


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
    flagged = {name: flagged_any(f) for name, f in flags.items()}
    try:
        with FrameSource(config.source, mirror=config.mirror, stride=config.stride) as source:
            for i, frame in enumerate(source):
                if i >= len(xy):
                    break
                bgr = frame.bgr.copy()
                draw_skeleton(bgr, xy[i])
                doubtful = {n for n, mask in flagged.items() if mask[i]}
                draw_angles(bgr, xy[i], {n: float(v[i]) for n, v in angles.items()}, doubtful)
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


def mostly_front(views: np.ndarray, t_s: np.ndarray, half_window_s: float = 0.5) -> np.ndarray:
    """(T,) True where most frames with a view within ``half_window_s`` either side are seen front-on
    (a few frames of a front-view clip read "oblique" when the model drops an arm near the trunk)."""
    front = (views == "front").astype(float)
    known = (views != "").astype(float)
    lo = np.searchsorted(t_s, t_s - half_window_s, side="left")
    hi = np.searchsorted(t_s, t_s + half_window_s, side="right")
    c_front, c_known = np.concatenate([[0.0], np.cumsum(front)]), np.concatenate([[0.0], np.cumsum(known)])
    n_front, n_known = c_front[hi] - c_front[lo], c_known[hi] - c_known[lo]
    return np.asarray(n_front > 0.5 * np.maximum(n_known, 1.0))


def _repaired(sequence: PoseSequence) -> tuple[PoseSequence, np.ndarray, dict[str, Any]]:
    """The sequence with limb left/right label swaps repaired and momentarily misplaced limb points
    blanked (filled later by interpolation); the swapped mask and what was repaired."""
    from romcam.kinematics.sides import LIMB_GROUPS, remove_limb_glitches, repair_left_right

    not_front = ~mostly_front(classify_view(sequence.xy_px), sequence.t_s)
    xy, vis, swapped = repair_left_right(sequence.xy_px, sequence.visibility, allowed=not_front)
    xy, glitched = remove_limb_glitches(xy, sequence.t_s, allowed=not_front)
    fixed = PoseSequence(xy, sequence.world_m, vis, sequence.t_s, sequence.width_px, sequence.height_px)
    info: dict[str, Any] = {}
    for g, group in enumerate(LIMB_GROUPS):
        info[f"{group}_frames_swapped"] = int(swapped[:, g].sum())
        info[f"{group}_frames_misplaced"] = int(glitched[:, g].sum())
    info["times_s"] = [round(float(t), 3) for t in sequence.t_s[swapped.any(axis=1)]][:200]
    info["misplaced_times_s"] = [round(float(t), 3) for t in sequence.t_s[glitched.any(axis=1)]][:200]
    return fixed, swapped, info


def flag_columns(angles: dict[str, np.ndarray], flags: dict[str, dict[str, np.ndarray]]) -> dict[str, list[str]]:
    """``<angle>_flags`` text columns for angles.csv."""
    return {f"{name}_flags": flag_text(flags[name], np.isfinite(values)) for name, values in angles.items()}


def flag_counts(values: np.ndarray, flags: dict[str, np.ndarray]) -> dict[str, Any]:
    """Share of the measured frames that carry any flag, and the count per code."""
    measured = np.isfinite(values)
    if not measured.any():
        return {"flagged_fraction": None, "frames_by_flag": {}}
    return {
        "flagged_fraction": float(flagged_any(flags)[measured].mean()),
        "frames_by_flag": {code: int(mask[measured].sum()) for code, mask in flags.items() if mask[measured].any()},
    }


@dataclass
class Measured:
    """A sequence after correction and repair, its cleaned landmarks, angles and per-frame flags."""

    sequence: PoseSequence
    xy_px: np.ndarray
    angles: dict[str, np.ndarray]
    flags: dict[str, dict[str, np.ndarray]]
    info: dict[str, Any]


def measure_sequence(sequence: PoseSequence, config: AnalyzeConfig, names: tuple[str, ...] | None = None) -> Measured:
    """Undistort (camera profile), level (neutral capture), repair left/right, clean, measure and flag,
    as ``config`` says; ``info`` holds what each correction did, for ``summary.json``."""
    profile_info: dict[str, Any] | None = None
    if config.camera_profile is not None:
        sequence, profile_info = _undistorted(sequence, config.camera_profile)
    neutral_info: dict[str, Any] | None = None
    neutral = None
    if config.neutral is not None:
        from romcam.app.calibrate import NeutralProfile

        neutral = NeutralProfile.load(config.neutral)
        sequence = sequence.with_xy(neutral.level(sequence.xy_px, sequence.width_px, sequence.height_px))
        neutral_info = {"file": str(config.neutral), "roll_deg": neutral.roll_deg}
    repair_info: dict[str, Any] | None = None
    swapped = None
    if config.repair_left_right:
        sequence, swapped, repair_info = _repaired(sequence)
    xy, angles = angles_from_sequence(sequence, config.filter, names)
    visible = mask_low_visibility(sequence.xy_px, sequence.visibility, config.filter.min_visibility)
    lengths = neutral.segment_lengths_px if neutral is not None else None
    evidence = frame_evidence(xy, ~np.isfinite(visible).all(axis=-1), swapped, lengths)
    unfiltered = compute_angles_deg(visible, names)
    evidence = replace(evidence, jumps={n: angle_jumps(v, sequence.t_s) for n, v in unfiltered.items()})
    flags = all_angle_flags(list(angles), xy, evidence)
    info = {"camera_profile": profile_info, "left_right_repair": repair_info, "neutral": neutral_info}
    return Measured(sequence, xy, angles, flags, info)


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

    m = measure_sequence(sequence, config, names)
    sequence, xy, angles, flags = m.sequence, m.xy_px, m.angles, m.flags
    summary = build_summary(sequence, xy, angles, video, model_info, config.filter, flags)
    summary.update(m.info)
    write_json(files["summary"], summary)
    if summary["status"] == "no_person":
        raise NoPersonError(
            f"no person detected in any of the {len(sequence)} frames of {config.source or config.from_landmarks}"
        )
    files["angles"] = out / "angles.csv"
    write_angles_csv(files["angles"], sequence.t_s, angles, flag_columns(angles, flags))
    files["plot"] = out / "angles.png"
    plot_angles(files["plot"], sequence.t_s, angles, title=Path(str(config.source or config.from_landmarks)).name)
    if config.write_video and not interrupted:
        files["video"] = out / "annotated.mp4"
        _write_annotated_video(files["video"], config, info, xy, angles, flags)
    return AnalyzeResult(summary, files, interrupted)
