"""``romcam measure``: a standard ROM protocol, live from a camera or from a video, with a report.

Frames go through the pose estimator and a causal One Euro filter one at a time, and the same
``TrialDetector`` finds trials and holds, so a webcam session and a recorded one give the same numbers.
"""

from __future__ import annotations

import logging
import math
import typing
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np

import romcam
from romcam.app.session import live_cleaner, live_source
from romcam.capture.neutral_profile import NeutralProfile
from romcam.errors import RomcamError
from romcam.fileio import check_output_dir, remove_outputs, write_bytes_atomic
from romcam.history import History, store_measurement
from romcam.kinematics.angles import REGISTRY
from romcam.kinematics.filters import FilterSettings
from romcam.output.tables import write_json
from romcam.output.words import live_doubt_words, side_note, side_record
from romcam.pipeline.offline import clean_offline
from romcam.pipeline.stream import FrameStream, PoseEstimator, TimedFrame, drive
from romcam.pose.models import LoadedModel
from romcam.protocols import Protocol
from romcam.results import Change, Confidence, FlagCode, SideResult, SideStatus, TrialResult, ViewCheck
from romcam.rules.accuracy import accuracy_score, size_score
from romcam.rules.compensation import CompensationCheck, compensation_value
from romcam.rules.confidence import confidence, foreshortening_score, jitter_score, view_score, visibility_score
from romcam.rules.frame_flags import (
    FrameFlags,
    angle_frame_flags,
    angle_jumps,
    frame_evidence,
    live_doubt,
    near_side,
    trunk_length_px,
)
from romcam.rules.metrics import frame_metrics
from romcam.rules.trials import Trial, TrialDetector
from romcam.rules.view import classify_view, dominant_view
from romcam.thresholds import as_record
from romcam.types import PoseFrame, PoseSequence

log = logging.getLogger(__name__)

OUTPUT_FILES = ("measurement.json", "report.html", "peak_*_trial*.png")
"""The files ``measure`` writes into its folder (an earlier run's are removed first)."""


@dataclass(frozen=True)
class MeasureConfig:
    """What ``romcam measure`` runs."""

    protocol: Protocol
    out_dir: Path
    source: str = "0"
    sides: tuple[str, ...] = ("left", "right")
    patient: str | None = None
    db: Path | None = None
    headless: bool = False
    mirror: bool = False
    model: str | None = None
    model_variant: str | None = None  # None: the protocol's (``Protocol.model_variant``)
    filter: FilterSettings = field(default_factory=lambda: FilterSettings(kind="one_euro"))
    camera_profile: Path | None = None
    neutral: Path | None = None
    mode: str = "auto"  # "live" (causal, as on a webcam), "offline" (zero-lag, as analyze) or "auto"

    def offline_for(self, source_kind: str) -> bool:
        """Whether a source of this kind is measured offline: recorded video in "auto", never a camera."""
        return self.mode == "offline" or (self.mode == "auto" and source_kind != "camera")


MODES = ("auto", "live", "offline")


@dataclass
class SideTrack:
    """Per-side live state: the trial detector and the frame at the current trial's highest value."""

    side: str
    detector: TrialDetector
    best_value: float = -math.inf
    best_frame: np.ndarray | None = None
    best_xy: np.ndarray | None = None
    best_t_s: float = math.nan
    evidence: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list)  # bgr, xy, value, t
    cut_off: Trial | None = None  # the trial open when the user stopped with Ctrl-C (not reported)


@dataclass
class Recording:
    """Everything the frame loop collects."""

    t_s: list[float] = field(default_factory=list)
    xy: list[np.ndarray] = field(default_factory=list)
    visibility: list[np.ndarray] = field(default_factory=list)
    angles: list[dict[str, float]] = field(default_factory=list)
    poses: list[PoseFrame | None] = field(default_factory=list)  # as the model gave them (for the offline pass)
    frames_with_person: int = 0
    filter: FilterSettings | None = None  # the cleaning the results come from (live, or the offline pass)
    flags: dict[str, FrameFlags] | None = None  # per-angle per-frame flags of the offline pass
    quit_early: bool = False
    interrupted: bool = False  # Ctrl-C: the session was stopped, not finished


class FrameLoop:
    """Runs one protocol over a frame source; the window is optional, the numbers are the same."""

    def __init__(self, config: MeasureConfig, keep_poses: bool = True, display: MeasureDisplay | None = None) -> None:
        """``display`` shows each frame (default: the OpenCV window unless ``config.headless``)."""
        p = config.protocol
        self.config = config
        self.keep_poses = keep_poses  # the model's poses, for an offline pass (not kept for a webcam)
        self.tracks = {
            s: SideTrack(s, TrialDetector(p.start_excursion_deg, p.hold_tolerance_deg, p.hold_min_s))
            for s in config.sides
        }
        self.cleaner, self.neutral = live_cleaner(config.filter, config.camera_profile, config.neutral)
        self.rec = Recording()
        self.window: MeasureDisplay | None = display or (None if config.headless else _Window(config))

    def run(self, source: Iterable[TimedFrame], estimator: PoseEstimator) -> Recording:
        """Drive the protocol over the frames (``pipeline.stream.drive``) and close the trials."""
        try:
            ended = drive(source, estimator, self.step)
        finally:
            if self.window:
                self.window.close()
        self.rec.quit_early, self.rec.interrupted = ended.quit_early, ended.interrupted
        if self.rec.t_s:
            for track in self.tracks.values():
                if close_trials(track, self.rec.t_s[-1], self.rec.interrupted):
                    self._keep_evidence(track)
        return self.rec

    def step(self, frame: TimedFrame, pose: PoseFrame | None) -> bool:
        """One frame: clean, record, advance each side's trial detector, show; False when the user quits."""
        bgr, t_s = frame.bgr, frame.t_s
        if pose is not None:
            self.rec.frames_with_person += 1
        xy, metrics = self.cleaner.step(pose, t_s, (bgr.shape[1], bgr.shape[0]))
        self.rec.t_s.append(t_s)
        self.rec.xy.append(xy)
        self.rec.visibility.append(pose.visibility if pose is not None else np.full(33, np.nan))
        self.rec.angles.append(metrics)
        if self.keep_poses:
            self.rec.poses.append(pose)
        events = []
        for track in self.tracks.values():
            value = self.config.protocol.direction * metrics[self.config.protocol.angle_name(track.side)]
            if self._waits(track, xy):
                value = math.nan  # the side away from the camera waits for the patient to turn round
            new = track.detector.step(value, t_s)
            events += [(track.side, e.kind) for e in new]
            if any(e.kind == "end" for e in new):  # first: a gap may end a trial as the next one starts
                self._keep_evidence(track)
            if track.detector.in_trial and value > track.best_value:
                track.best_value, track.best_frame, track.best_xy = value, bgr.copy(), xy.copy()
                track.best_t_s = t_s
        if self.window:
            return self.window.show(bgr, xy, metrics, self.tracks, events)
        return True

    def _waits(self, track: SideTrack, xy: np.ndarray) -> bool:
        """Whether a side of a side-view protocol waits in this frame: it is on the far side of the body (its
        values are not measurements) and no trial of it is open. Its trials start once the patient turns round."""
        p = self.config.protocol
        if p.view != "side" or track.detector.in_trial:
            return False
        return live_doubt(p.angle_name(track.side), xy) == FlagCode.FAR_SIDE

    @staticmethod
    def _keep_evidence(track: SideTrack) -> None:
        if track.best_frame is not None and track.best_xy is not None:
            track.evidence.append((track.best_frame, track.best_xy, track.best_value, track.best_t_s))
        track.best_value, track.best_frame, track.best_xy = -math.inf, None, None


def close_trials(track: SideTrack, t_end_s: float, interrupted: bool) -> bool:
    """At the end of the frames: a stop (Ctrl-C) keeps the open trial apart as ``cut_off``, never counted;
    otherwise an open trial is closed (the recording ended at end range). True when a trial was closed."""
    if interrupted:
        track.cut_off = track.detector.cut_off(t_end_s)
        return False
    return track.detector.finish(t_end_s) is not None


# --- results ----------------------------------------------------------------------------------


def _window(rec: Recording, start_s: float, end_s: float) -> np.ndarray:
    t = np.asarray(rec.t_s)
    return np.asarray((t >= start_s) & (t <= end_s))


def _window_values(rec: Recording, metric: str, start_s: float, end_s: float) -> np.ndarray:
    mask = _window(rec, start_s, end_s)
    return np.array([a.get(metric, math.nan) for a, m in zip(rec.angles, mask, strict=True) if m])


def check_compensations(protocol: Protocol, side: str, trial: Trial, rec: Recording) -> list[CompensationCheck]:
    """Each of the protocol's compensation rules, over the trial's peak window (its hold, or around its maximum)."""
    start, end = trial.peak_window_s
    i0 = int(np.searchsorted(np.asarray(rec.t_s), trial.start_s))
    out = []
    for c in protocol.compensations:
        metric = c.angle.format(side=side)
        start_value = rec.angles[max(i0 - 1, 0)].get(metric, math.nan)
        value = compensation_value(c.measure, _window_values(rec, metric, start, end), start_value)
        out.append(
            CompensationCheck(
                c.name, metric, value, c.threshold_deg, bool(math.isfinite(value) and value > c.threshold_deg), c.cue
            )
        )
    return out


def view_check(protocol: Protocol, rec: Recording, trials: list[Trial]) -> ViewCheck:
    """The camera view during the trials (all frames when there are none) and its share of those frames."""
    mask = np.zeros(len(rec.t_s), dtype=bool)
    for trial in trials:
        mask |= _window(rec, trial.start_s, trial.end_s)
    if not mask.any():
        mask[:] = True
    xy = np.array(rec.xy)[mask]
    view, share = dominant_view(classify_view(xy))
    near, _ = dominant_view(near_side(xy)) if view == "side" else ("", 0.0)
    return ViewCheck(view, share, protocol.view, near)


def recording_flags(rec: Recording, angle: str, neutral: NeutralProfile | None, min_visibility: float) -> FrameFlags:
    """Per-frame flag masks of one angle over the recording: those of the offline pass when there was one, else
    computed on the live-cleaned landmarks (view, far side, foreshortened, missing landmarks, jumps of the live
    series, beyond physiological range)."""
    if rec.flags is not None and angle in rec.flags:
        return rec.flags[angle]
    xy = np.array(rec.xy)
    blank = ~(np.array(rec.visibility) >= min_visibility)
    evidence = frame_evidence(xy, blank, neutral_lengths_px=neutral.segment_lengths_px if neutral else None)
    values = np.array([a.get(angle, math.nan) for a in rec.angles])
    evidence = replace(evidence, jumps={angle: angle_jumps(values, np.asarray(rec.t_s))})
    return angle_frame_flags(REGISTRY[angle], xy, evidence, values)


def trial_codes(flags: FrameFlags, t_s: np.ndarray, trial: Trial) -> tuple[FlagCode, ...]:
    """The flag codes that mark more than half of the trial's peak frames, and (without a hold) those at the frame
    of its largest value."""
    start, end = trial.peak_window_s
    window = (t_s >= start) & (t_s <= end)
    codes = {FlagCode(c) for c, mask in flags.items() if window.any() and mask[window].mean() > 0.5}
    if trial.hold is None and len(t_s):
        i = int(np.argmin(np.abs(t_s - trial.max_time_s)))
        codes |= {FlagCode(c) for c, mask in flags.items() if mask[i]}
    return tuple(c for c in FlagCode if c in codes)


def _change(protocol: Protocol, peak: float | None, previous: Any, variant: str) -> Change | None:
    """The change since the ``previous`` history point, measured now through the model ``variant``."""
    if previous is None or peak is None or previous.peak_deg is None:
        return None
    return Change(
        previous.peak_deg,
        previous.started_at,
        peak - previous.peak_deg,
        protocol.change_deg,
        protocol.change_source,
        previous.model_variant,
        variant,
    )


def side_status(view: ViewCheck, trials: list[TrialResult], side: str) -> SideStatus:
    """Whether the side gets a number: never from the wrong view, the far side, or flagged peak frames."""
    if view.seen and not view.ok:
        return SideStatus.WRONG_VIEW
    if view.ok and view.needed == "side" and view.near and view.near != side:
        return SideStatus.FAR_SIDE
    if not trials:
        return SideStatus.NO_TRIAL
    if any(t.clean for t in trials):
        return SideStatus.MEASURED
    if all(FlagCode.FAR_SIDE in t.codes for t in trials):
        return SideStatus.FAR_SIDE
    return SideStatus.NOT_MEASURABLE


def result_confidence(
    protocol: Protocol, side: str, best: Trial | None, rec: Recording, neutral: NeutralProfile | None, variant: str
) -> Confidence:
    """Confidence of a side's reported value, from its best clean trial: landmark visibility, camera view,
    jitter during the hold, the accuracy measured for the model ``variant`` and (with a neutral capture)
    foreshortening of the moving segment."""
    if best is None:
        return confidence({})
    window = _window(rec, *best.peak_window_s)
    d = REGISTRY[protocol.angle_name(side)]
    ids = [int(d.vertex), int(d.proximal), int(d.distal)]
    vis = np.array(rec.visibility)[window][:, ids]
    views = classify_view(np.array(rec.xy)[_window(rec, best.start_s, best.end_s)])
    components = {
        "visibility": visibility_score(float(np.nanmean(vis))) if np.isfinite(vis).any() else math.nan,
        "view": view_score(float(np.mean(views == protocol.view))),
        "jitter": jitter_score(best.hold.sd_deg, protocol.hold_tolerance_deg) if best.hold else 0.3,
        "accuracy": accuracy_score(d.kind, protocol.view, variant),
        "size": size_score(trunk_length_px(np.array(rec.xy)[window])),
    }
    length0 = neutral.segment_lengths_px.get(d.name) if neutral is not None else None
    if length0:
        xy = np.array(rec.xy)[window]
        length = np.nanmedian(np.linalg.norm(xy[:, int(d.distal)] - xy[:, int(d.vertex)], axis=-1))
        components["foreshortening"] = foreshortening_score(float(length / length0))
    return confidence(components)


def asymmetry(results: list[SideResult]) -> dict[str, float] | None:
    """Left minus right peak, and the difference as a share of the larger, when both were measured."""
    by_side = {r.side: r.peak_deg for r in results if r.peak_deg is not None}
    if {"left", "right"} - set(by_side):
        return None
    diff = by_side["left"] - by_side["right"]
    larger = max(abs(by_side["left"]), abs(by_side["right"]))
    return {"left_minus_right_deg": diff, "percent": 100.0 * abs(diff) / larger if larger else 0.0}


# --- the use case -----------------------------------------------------------------------------


def _save_evidence(config: MeasureConfig, track: SideTrack) -> list[str]:
    from romcam.output.overlay import draw_goniometer

    names = []
    for i, (bgr, xy, value, _) in enumerate(track.evidence, start=1):
        image = bgr.copy()
        draw_goniometer(
            image,
            xy,
            config.protocol.angle_name(track.side),
            config.protocol.direction * value,
            f"{config.protocol.title}, {track.side}, trial {i}",
        )
        name = f"peak_{track.side}_trial{i}.png"
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise RomcamError(f"cannot encode the peak frame {name}")
        write_bytes_atomic(config.out_dir / name, png.tobytes())
        names.append(name)
    return names


def run_measure(config: MeasureConfig) -> dict[str, Any]:
    """Run the protocol and write measurement.json, report.html, the peak frames and the history rows."""
    check_output_dir(config.out_dir)
    opened = live_source(
        config.source, config.mirror, config.model, config.model_variant, config.protocol.model_variant
    )
    with opened as (source, pose, model):
        return measure_over(config, source, cast(PoseEstimator, pose), model)


class MeasureDisplay(typing.Protocol):
    """Where a running measurement is shown: the OpenCV window, or the browser app's WebSocket. ``show``
    returns False when the user stops; ``close`` runs once at the end."""

    def show(
        self,
        bgr: np.ndarray,
        xy: np.ndarray,
        metrics: dict[str, float],
        tracks: dict[str, SideTrack],
        events: list[tuple[str, str]],
    ) -> bool: ...

    def close(self) -> None: ...


def measure_over(
    config: MeasureConfig,
    source: FrameStream,
    estimator: PoseEstimator,
    model: LoadedModel,
    display: MeasureDisplay | None = None,
) -> dict[str, Any]:
    """The protocol over an opened frame source (a camera, a video, or the browser's frames), then the files
    and the history rows, exactly as ``romcam measure`` writes them."""
    check_output_dir(config.out_dir)
    remove_outputs(config.out_dir, OUTPUT_FILES)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    info = source.info
    loop = FrameLoop(config, keep_poses=config.offline_for(info.kind), display=display)
    rec = loop.run(source, estimator)
    if not rec.t_s:
        if rec.interrupted:  # Ctrl-C before the first frame: nothing to save, and nothing wrong with the source
            raise KeyboardInterrupt
        raise RomcamError(f"{config.source}: no frame could be read")
    if config.offline_for(info.kind):
        offline_pass(config, loop, rec, info.width_px, info.height_px)
    return _finish(config, loop, rec, info, model, started)


def offline_pass(config: MeasureConfig, loop: FrameLoop, rec: Recording, width_px: int, height_px: int) -> None:
    """Recorded video: clean the whole recording again with the offline pipeline (zero lag, left/right repair,
    the gap policy and filter of ``analyze``) and find the trials again on it with the same detector, so a clip
    reads the same through ``measure`` and ``analyze``. The peak images stay those the live pass kept, each
    drawn with the offline landmarks and value of its frame."""
    sequence = PoseSequence.from_frames(rec.poses, rec.t_s, width_px, height_px)
    if loop.cleaner.undistort is not None:
        sequence = sequence.with_xy(loop.cleaner.undistort(sequence.xy_px))
    neutral = loop.neutral
    measured_settings = replace(FilterSettings(), min_visibility=config.filter.min_visibility)
    measured = clean_offline(
        sequence,
        measured_settings,
        roll_deg=neutral.roll_deg if neutral else None,
        reference_lengths_px=neutral.segment_lengths_px if neutral else None,
    )
    rec.filter = measured_settings
    rec.flags = measured.flags
    rec.xy = list(measured.xy_px)
    rec.angles = [frame_metrics(xy) for xy in measured.xy_px]
    t = np.asarray(rec.t_s)
    p = config.protocol
    for track in loop.tracks.values():
        values = p.direction * measured.angles[p.angle_name(track.side)]
        track.detector = TrialDetector(p.start_excursion_deg, p.hold_tolerance_deg, p.hold_min_s)
        for v, t_s in zip(values, t, strict=True):
            track.detector.step(float(v), float(t_s))
        close_trials(track, float(t[-1]), rec.interrupted)
        track.evidence = _offline_evidence(track, track.detector.trials, t, measured.xy_px, values)


def _offline_evidence(
    track: SideTrack, trials: list[Trial], t_s: np.ndarray, xy_px: np.ndarray, values: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
    """For each offline trial, the live pass's peak frame nearest its maximum, redrawn with offline data."""
    out = []
    for trial in trials:
        if not track.evidence:
            break
        bgr, _, _, t_frame = min(track.evidence, key=lambda e: abs(e[3] - trial.max_time_s))
        i = int(np.argmin(np.abs(t_s - t_frame)))
        out.append((bgr, xy_px[i], float(values[i]), float(t_s[i])))
    return out


def _zero_offset(neutral: NeutralProfile | None, angle: str) -> float | None:
    return neutral.zero_offsets_deg.get(angle) if neutral is not None else None


def _side(
    config: MeasureConfig, loop: FrameLoop, rec: Recording, track: SideTrack, previous: Any, variant: str
) -> SideResult:
    """One side's typed result: its trials with their checks, the view, the status that decides whether it has a
    number, confidence, change, zero offset, evidence images and any trial cut off by a stop."""
    protocol, side, found = config.protocol, track.side, track.detector.trials
    flags = recording_flags(rec, protocol.angle_name(side), loop.neutral, config.filter.min_visibility)
    t = np.asarray(rec.t_s)
    trials = [
        TrialResult(tr, trial_codes(flags, t, tr), tuple(check_compensations(protocol, side, tr, rec))) for tr in found
    ]
    view = view_check(protocol, rec, found)
    status = side_status(view, trials, side)
    clean = [tr.trial for tr in trials if tr.clean] if status == SideStatus.MEASURED else []
    best = max(clean, key=lambda tr: tr.peak_deg) if clean else None
    peak = best.peak_deg if best else None
    hold = best.hold if best else None
    return SideResult(
        protocol=protocol.name,
        side=side,
        angle=protocol.angle_name(side),
        direction=protocol.direction,
        status=status,
        peak_deg=peak,
        mean_deg=float(np.mean([tr.peak_deg for tr in clean])) if clean else None,
        hold_sd_deg=hold.sd_deg if hold else None,
        hold_s=hold.duration_s if hold else None,
        trials=tuple(trials),
        trials_needed=protocol.trials,
        view=view,
        confidence=result_confidence(protocol, side, best, rec, loop.neutral, variant),
        normal_deg=protocol.normal_deg,
        normal_source=protocol.normal_source,
        change=_change(protocol, peak, previous, variant),
        zero_offset_deg=_zero_offset(loop.neutral, protocol.angle_name(side)),
        cut_off=track.cut_off,
        evidence=tuple(_save_evidence(config, track)),
    )


def _finish(
    config: MeasureConfig, loop: FrameLoop, rec: Recording, info: Any, model: LoadedModel, started: str
) -> dict[str, Any]:
    """Build, write and store the measurement: files first, then the history (a history problem is
    returned in ``history_error``, never lost work); ``RomcamError`` when no side has a reported value."""
    previous, history_problem = _previous_peaks(config)
    variant = model.resolved.variant
    results = [_side(config, loop, rec, track, previous.get(side), variant) for side, track in loop.tracks.items()]
    measurement = _measurement(config, rec, info, model, started, results)
    _write_measurement(config, measurement)
    if config.patient and not history_problem:
        history_problem = _store_in_history(config, measurement)
    if history_problem:  # the files stay; the caller reports this after the results
        measurement["history_error"] = (
            f"the measurement is saved in {config.out_dir} but not in the history ({history_problem}); "
            f"add it later with: romcam history import {config.out_dir / 'measurement.json'}"
        )
    if not rec.interrupted and not any(r.peak_deg is not None for r in results):
        raise _no_result_error(config, rec, results)
    return measurement


def _measurement(
    config: MeasureConfig, rec: Recording, info: Any, model: LoadedModel, started: str, results: list[SideResult]
) -> dict[str, Any]:
    """The content of ``measurement.json`` (sides rendered by ``output.words.side_record``)."""
    protocol = config.protocol
    return {
        "romcam_version": romcam.__version__,
        "patient": config.patient,
        "started_at": started,
        "protocol": {**asdict(protocol), "compensations": [asdict(c) for c in protocol.compensations]},
        "source": {**asdict(info)},
        "model": model.describe(),
        "cleaning": "live" if rec.filter is None else "offline",
        "filter": asdict(rec.filter or config.filter),
        "thresholds": as_record(),
        "frames": {"count": len(rec.t_s), "with_person": rec.frames_with_person},
        "stopped_early": rec.quit_early,
        "interrupted": rec.interrupted,
        "results": [side_record(r, protocol) for r in results],
        "asymmetry": asymmetry(results),
    }


def _no_result_error(config: MeasureConfig, rec: Recording, results: list[SideResult]) -> RomcamError:
    found = any(r.trials for r in results)
    why = "; ".join(dict.fromkeys(side_note(r, config.protocol) for r in results if side_note(r, config.protocol)))
    head = (
        f"no {config.protocol.title.lower()} result from {config.source}"
        if found
        else f"no {config.protocol.title.lower()} trial found in {config.source}"
    )
    return RomcamError(
        f"{head} ({rec.frames_with_person} of {len(rec.t_s)} frames with a person{'; ' + why if why else ''}); "
        f"results written to {config.out_dir}"
    )


def _previous_peaks(config: MeasureConfig) -> tuple[dict[str, Any], str]:
    """Each side's latest earlier measurement of this protocol for the patient, and what went wrong
    reading the history ("" when nothing did); a history problem never stops the measurement."""
    if not config.patient:
        return {}, ""
    try:
        with History.open(config.db) as history:
            found = {s: history.previous(config.patient, config.protocol.name, s) for s in config.sides}
    except RomcamError as exc:
        return {}, str(exc)
    return {s: p for s, p in found.items() if p is not None}, ""


def _write_measurement(config: MeasureConfig, measurement: dict[str, Any]) -> None:
    from romcam.output.report import write_report

    write_json(config.out_dir / "measurement.json", measurement)
    write_report(config.out_dir / "report.html", measurement, config.out_dir)


def _store_in_history(config: MeasureConfig, measurement: dict[str, Any]) -> str:
    """Add the written measurement to the history and write it again with its session id and the trend;
    returns what went wrong ("" when it was stored)."""
    try:
        with History.open(config.db) as history:
            session_id = store_measurement(history, measurement)
            points = history.points(config.patient, config.protocol.name)
    except RomcamError as exc:
        return str(exc)
    if session_id is not None:
        measurement["session_id"] = session_id
    measurement["history"] = [asdict(p) for p in points]
    _write_measurement(config, measurement)
    return ""


class _Window:
    """The live OpenCV window: picture, skeleton, instruction, trial counter, live angle, hold check mark."""

    name = "romcam measure"
    min_height_px = 720

    def __init__(self, config: MeasureConfig) -> None:
        self.config = config
        cv2.namedWindow(self.name, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)

    def show(
        self,
        bgr: np.ndarray,
        xy: np.ndarray,
        metrics: dict[str, float],
        tracks: dict[str, SideTrack],
        events: list[tuple[str, str]],
    ) -> bool:
        from romcam.output.overlay import draw_skeleton
        from romcam.output.panel import draw_measure_panel, with_panel

        scale = max(1.0, self.min_height_px / bgr.shape[0])
        image = cv2.resize(bgr, None, fx=scale, fy=scale) if scale > 1 else bgr.copy()
        draw_skeleton(image, xy * scale)
        p = self.config.protocol
        doubts = {side: live_doubt_words(p.angle_name(side), live_doubt(p.angle_name(side), xy)) for side in tracks}
        canvas = with_panel(image)
        draw_measure_panel(canvas, image.shape[1], p, metrics, tracks, events, doubts)
        cv2.imshow(self.name, canvas)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyWindow(self.name)
