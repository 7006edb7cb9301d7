"""``romcam measure``: a standard ROM protocol, live from a camera or from a video, with a report.

Frames go through the pose estimator and a causal One Euro filter one at a time, and the same
``TrialDetector`` finds trials and holds, so a webcam session and a recorded one give the same numbers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np

import romcam
from romcam.app.session import live_cleaner, live_source
from romcam.errors import RomcamError
from romcam.fileio import check_output_dir, remove_outputs, write_bytes_atomic
from romcam.history import History, store_measurement
from romcam.kinematics.angles import REGISTRY
from romcam.kinematics.filters import FilterSettings
from romcam.output.tables import write_json
from romcam.output.words import VIEW_WORDS
from romcam.pipeline.offline import clean_offline
from romcam.pipeline.stream import PoseEstimator, TimedFrame, drive
from romcam.pose.models import LoadedModel
from romcam.protocols import Protocol
from romcam.results import Confidence
from romcam.rules.compensation import CompensationCheck, compensation_value
from romcam.rules.confidence import confidence, foreshortening_score, jitter_score, view_score, visibility_score
from romcam.rules.metrics import frame_metrics
from romcam.rules.trials import Trial, TrialDetector
from romcam.rules.view import classify_view, dominant_view
from romcam.thresholds import MIN_VIEW_SHARE, as_record
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
    model_variant: str = "full"
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
    quit_early: bool = False
    interrupted: bool = False  # Ctrl-C: the session was stopped, not finished


class FrameLoop:
    """Runs one protocol over a frame source; the window is optional, the numbers are the same."""

    def __init__(self, config: MeasureConfig) -> None:
        p = config.protocol
        self.config = config
        self.tracks = {
            s: SideTrack(s, TrialDetector(p.start_excursion_deg, p.hold_tolerance_deg, p.hold_min_s))
            for s in config.sides
        }
        self.cleaner, self.neutral = live_cleaner(config.filter, config.camera_profile, config.neutral)
        self.rec = Recording()
        self.window = None if config.headless else _Window(config)

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
                if self.rec.interrupted:
                    track.cut_off = track.detector.cut_off(self.rec.t_s[-1])
                elif track.detector.finish(self.rec.t_s[-1]) is not None:
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
        self.rec.poses.append(pose)
        events = []
        for track in self.tracks.values():
            value = self.config.protocol.direction * metrics[self.config.protocol.angle_name(track.side)]
            new = track.detector.step(value, t_s)
            events += [(track.side, e.kind) for e in new]
            if track.detector.in_trial and value > track.best_value:
                track.best_value, track.best_frame, track.best_xy = value, bgr.copy(), xy.copy()
                track.best_t_s = t_s
            if any(e.kind == "end" for e in new):
                self._keep_evidence(track)
        if self.window:
            return self.window.show(bgr, xy, metrics, self.tracks, events)
        return True

    @staticmethod
    def _keep_evidence(track: SideTrack) -> None:
        if track.best_frame is not None and track.best_xy is not None:
            track.evidence.append((track.best_frame, track.best_xy, track.best_value, track.best_t_s))
        track.best_value, track.best_frame, track.best_xy = -math.inf, None, None


# --- results ----------------------------------------------------------------------------------


def _window_values(rec: Recording, metric: str, start_s: float, end_s: float) -> np.ndarray:
    t = np.array(rec.t_s)
    mask = (t >= start_s) & (t <= end_s)
    return np.array([a.get(metric, math.nan) for a, m in zip(rec.angles, mask, strict=True) if m])


def check_compensations(protocol: Protocol, side: str, trial: Trial, rec: Recording) -> list[CompensationCheck]:
    """Each of the protocol's compensation rules, over the trial's hold (or 0.5 s around its maximum)."""
    start, end = (
        (trial.hold.start_s, trial.hold.end_s) if trial.hold else (trial.max_time_s - 0.25, trial.max_time_s + 0.25)
    )
    t = np.array(rec.t_s)
    i0 = int(np.searchsorted(t, trial.start_s))
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


def view_flag(protocol: Protocol, rec: Recording, trials: list[Trial]) -> tuple[str, float, str | None]:
    """The camera view during the trials, its share of frames, and a flag if it is not the protocol's."""
    t = np.array(rec.t_s)
    mask = np.zeros(len(t), dtype=bool)
    for trial in trials:
        mask |= (t >= trial.start_s) & (t <= trial.end_s)
    if not mask.any():
        mask[:] = True
    views = classify_view(np.array(rec.xy)[mask])
    view, share = dominant_view(views)
    if view != protocol.view or share < MIN_VIEW_SHARE:
        return view, share, f"unreliable: camera not {VIEW_WORDS[protocol.view]} (saw {view or 'no person'})"
    return view, share, None


def _change(protocol: Protocol, peak: float | None, previous: Any) -> dict[str, Any] | None:
    if previous is None or peak is None or previous.peak_deg is None:
        return None
    change = peak - previous.peak_deg
    if abs(change) > protocol.change_deg:
        words = f"{change:+.0f}°: larger than the {protocol.change_deg:.0f}° {protocol.change_source}"
    else:
        words = f"{change:+.0f}°: within the {protocol.change_deg:.0f}° {protocol.change_source}; not a real change"
    return {
        "previous_deg": previous.peak_deg,
        "previous_at": previous.started_at,
        "change_deg": change,
        "interpretation": words,
    }


def _side_flags(
    protocol: Protocol, trials: list[Trial], checks: list[list[CompensationCheck]], view: str | None
) -> list[str]:
    """Compensations seen in any trial, a wrong view, missing trials and trials without a hold."""
    flags: list[str] = []
    for per_trial in checks:
        flags += [c.name for c in per_trial if c.seen and c.name not in flags]
    if view:
        flags.append(view)
    if len(trials) < protocol.trials:
        flags.append(f"{len(trials)} of {protocol.trials} trials")
    if any(t.hold is None for t in trials):
        flags.append("no end-range hold in some trials")
    return flags


def _percent(value: float | None, of: float) -> float | None:
    return 100.0 * value / of if value is not None and of else None


def side_result(
    protocol: Protocol, side: str, trials: list[Trial], rec: Recording, view: str | None, previous: Any
) -> dict[str, Any]:
    """The per-side result: trials, reported (max) and mean peak, hold SD, compensations, norms, change."""
    peaks = [t.peak_deg for t in trials]
    checks = [check_compensations(protocol, side, t, rec) for t in trials]
    best = max(trials, key=lambda t: t.peak_deg) if trials else None
    peak = best.peak_deg if best else None
    hold = best.hold if best else None
    return {
        "protocol": protocol.name,
        "side": side,
        "angle": protocol.angle_name(side),
        "direction": protocol.direction,
        "peak_deg": peak,
        "mean_deg": float(np.mean(peaks)) if peaks else None,
        "trials_deg": [float(p) for p in peaks],
        "hold_sd_deg": hold.sd_deg if hold else None,
        "hold_s": hold.duration_s if hold else None,
        "trials": [
            {**asdict(t), "peak_deg": t.peak_deg, "compensations": [asdict(c) for c in checks[i]]}
            for i, t in enumerate(trials)
        ],
        "flags": _side_flags(protocol, trials, checks, view),
        "normal_deg": protocol.normal_deg,
        "normal_source": protocol.normal_source,
        "percent_of_normal": _percent(peak, protocol.normal_deg),
        "change": _change(protocol, peak, previous),
    }


def result_confidence(protocol: Protocol, side: str, trials: list[Trial], rec: Recording, neutral: Any) -> Confidence:
    """Confidence of a side's reported value, from its best trial: landmark visibility, camera view,
    jitter during the hold and (with a neutral capture) foreshortening of the moving segment."""
    if not trials:
        return confidence({})
    best = max(trials, key=lambda tr: tr.peak_deg)
    start, end = (best.hold.start_s, best.hold.end_s) if best.hold else (best.max_time_s - 0.25, best.max_time_s + 0.25)
    t = np.array(rec.t_s)
    window = (t >= start) & (t <= end)
    trial_frames = (t >= best.start_s) & (t <= best.end_s)
    d = REGISTRY[protocol.angle_name(side)]
    ids = [int(d.vertex), int(d.proximal), int(d.distal)]
    vis = np.array(rec.visibility)[window][:, ids]
    views = classify_view(np.array(rec.xy)[trial_frames])
    components = {
        "visibility": visibility_score(float(np.nanmean(vis))) if np.isfinite(vis).any() else math.nan,
        "view": view_score(float(np.mean(views == protocol.view))),
        "jitter": jitter_score(best.hold.sd_deg, protocol.hold_tolerance_deg) if best.hold else 0.3,
    }
    length0 = neutral.segment_lengths_px.get(d.name) if neutral is not None else None
    if length0:
        xy = np.array(rec.xy)[window]
        length = np.nanmedian(np.linalg.norm(xy[:, int(d.distal)] - xy[:, int(d.vertex)], axis=-1))
        components["foreshortening"] = foreshortening_score(float(length / length0))
    return confidence(components)


def peak_window_flags(
    protocol: Protocol, side: str, trials: list[Trial], rec: Recording, neutral: Any, min_visibility: float
) -> list[str]:
    """Per-frame flag words (``rules.frame_flags``) that hold over most of the best trial's hold
    (or the half second around its peak): far side of a side view, foreshortened limb, missing landmarks."""
    from romcam.output.words import PEAK_FLAG_WORDS
    from romcam.rules.frame_flags import angle_frame_flags, frame_evidence, window_flag_codes

    if not trials:
        return []
    best = max(trials, key=lambda tr: tr.peak_deg)
    start, end = (best.hold.start_s, best.hold.end_s) if best.hold else (best.max_time_s - 0.25, best.max_time_s + 0.25)
    t = np.array(rec.t_s)
    xy = np.array(rec.xy)
    blank = np.array(rec.visibility) < min_visibility
    evidence = frame_evidence(xy, blank, neutral_lengths_px=neutral.segment_lengths_px if neutral else None)
    flags = angle_frame_flags(REGISTRY[protocol.angle_name(side)], xy, evidence)
    return [PEAK_FLAG_WORDS[c] for c in window_flag_codes(flags, (t >= start) & (t <= end))]


def asymmetry(results: list[dict[str, Any]]) -> dict[str, float] | None:
    """Left minus right peak, and the difference as a share of the larger, when both were measured."""
    by_side = {r["side"]: r["peak_deg"] for r in results if r["peak_deg"] is not None}
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
    remove_outputs(config.out_dir, OUTPUT_FILES)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with live_source(config.source, config.mirror, config.model, config.model_variant) as (source, pose, model):
        loop = FrameLoop(config)
        rec = loop.run(source, cast(PoseEstimator, pose))
        info = source.info
    if not rec.t_s:
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
    rec.xy = list(measured.xy_px)
    rec.angles = [frame_metrics(xy) for xy in measured.xy_px]
    t = np.asarray(rec.t_s)
    p = config.protocol
    for track in loop.tracks.values():
        values = p.direction * measured.angles[p.angle_name(track.side)]
        detector = TrialDetector(p.start_excursion_deg, p.hold_tolerance_deg, p.hold_min_s)
        for v, t_s in zip(values, t, strict=True):
            detector.step(float(v), float(t_s))
        if rec.interrupted:
            track.cut_off = detector.cut_off(float(t[-1]))
        else:
            detector.finish(float(t[-1]))
        track.detector = detector
        track.evidence = _offline_evidence(track, detector.trials, t, measured.xy_px, values)


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


def _side(config: MeasureConfig, loop: FrameLoop, rec: Recording, track: SideTrack, previous: Any) -> dict[str, Any]:
    """One side's result with its view, confidence, peak-window flags, zero offset, evidence images and any
    trial cut off by a stop."""
    protocol, side, trials = config.protocol, track.side, track.detector.trials
    view, share, flag = view_flag(protocol, rec, trials)
    result = side_result(protocol, side, trials, rec, flag, previous)
    result["view"] = {"seen": view, "share": share, "needed": protocol.view}
    result["confidence"] = asdict(result_confidence(protocol, side, trials, rec, loop.neutral))
    result["flags"] += peak_window_flags(protocol, side, trials, rec, loop.neutral, config.filter.min_visibility)
    if loop.neutral is not None:
        offset = loop.neutral.zero_offsets_deg.get(protocol.angle_name(side))
        result["zero_offset_deg"] = offset
        if offset is not None and result["peak_deg"] is not None:
            result["peak_from_neutral_deg"] = result["peak_deg"] - protocol.direction * offset
    result["evidence"] = _save_evidence(config, track)
    if track.cut_off is not None:
        result["incomplete_trial"] = asdict(track.cut_off)
        result["flags"].append(f"trial {track.cut_off.index} cut off by the stop (not counted)")
    return result


def _finish(
    config: MeasureConfig, loop: FrameLoop, rec: Recording, info: Any, model: LoadedModel, started: str
) -> dict[str, Any]:
    """Build, write and store the measurement: files first, then the history (a history problem is
    returned in ``history_error``, never lost work); ``RomcamError`` when no trial was found."""
    previous, history_problem = _previous_peaks(config)
    results = [_side(config, loop, rec, track, previous.get(side)) for side, track in loop.tracks.items()]
    measurement = _measurement(config, rec, info, model, started, results)
    _write_measurement(config, measurement)
    if config.patient and not history_problem:
        history_problem = _store_in_history(config, measurement)
    if history_problem:  # the files stay; the caller reports this after the results
        measurement["history_error"] = (
            f"the measurement is saved in {config.out_dir} but not in the history ({history_problem}); "
            f"add it later with: romcam history import {config.out_dir / 'measurement.json'}"
        )
    if not rec.interrupted and not any(r["peak_deg"] is not None for r in results):
        raise _no_trial_error(config, rec, results)
    return measurement


def _measurement(
    config: MeasureConfig, rec: Recording, info: Any, model: LoadedModel, started: str, results: list[dict[str, Any]]
) -> dict[str, Any]:
    """The content of ``measurement.json``."""
    protocol = config.protocol
    return {
        "romcam_version": romcam.__version__,
        "patient": config.patient,
        "started_at": started,
        "protocol": {**asdict(protocol), "compensations": [asdict(c) for c in protocol.compensations]},
        "source": {**asdict(info)},
        "model": model.resolved.describe(),
        "cleaning": "live" if rec.filter is None else "offline",
        "filter": asdict(rec.filter or config.filter),
        "thresholds": as_record(),
        "frames": {"count": len(rec.t_s), "with_person": rec.frames_with_person},
        "stopped_early": rec.quit_early,
        "interrupted": rec.interrupted,
        "results": results,
        "asymmetry": asymmetry(results),
    }


def _no_trial_error(config: MeasureConfig, rec: Recording, results: list[dict[str, Any]]) -> RomcamError:
    views = sorted({f for r in results for f in r["flags"] if f.startswith("unreliable")})
    view_note = f"; {views[0]}" if views else ""
    return RomcamError(
        f"no {config.protocol.title.lower()} trial found in {config.source} "
        f"({rec.frames_with_person} of {len(rec.t_s)} frames with a person{view_note}); "
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
        from romcam.output.overlay import draw_measure_panel, draw_skeleton

        scale = max(1.0, self.min_height_px / bgr.shape[0])
        image = cv2.resize(bgr, None, fx=scale, fy=scale) if scale > 1 else bgr.copy()
        draw_skeleton(image, xy * scale)
        from romcam.output.words import live_doubt_words
        from romcam.rules.frame_flags import live_doubt

        p = self.config.protocol
        doubts = {side: live_doubt_words(p.angle_name(side), live_doubt(p.angle_name(side), xy)) for side in tracks}
        draw_measure_panel(image, p, metrics, tracks, events, doubts)
        cv2.imshow(self.name, image)
        key = cv2.waitKey(1) & 0xFF
        return key not in (ord("q"), 27)

    def close(self) -> None:
        cv2.destroyWindow(self.name)
