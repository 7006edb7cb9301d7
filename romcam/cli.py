"""Command line: parse arguments, call ``romcam.app``, render the result. Exit 0 ok, 1 failure, 2 usage."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import romcam
from romcam.errors import RomcamError, UsageError
from romcam.fileio import write_bytes_atomic
from romcam.kinematics.filters import FILTER_KINDS, FilterSettings
from romcam.output.exports import parse_formats
from romcam.thresholds import MAX_GAP_S, MIN_VISIBILITY

log = logging.getLogger("romcam")


class _Progress:
    """A tqdm bar driven by ``(done, total)`` callbacks; silent when stderr is not a terminal and quiet."""

    def __init__(self, desc: str, unit: str, enabled: bool) -> None:
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total or None, desc=self.desc, unit=self.unit, file=sys.stderr, leave=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _add_model_options(p: argparse.ArgumentParser, per_protocol: bool = False) -> None:
    """``--model`` and ``--model-variant``; with ``per_protocol`` the variant defaults to the protocol's."""
    p.add_argument("--model", metavar="PATH", help="pose model bundle (.task); default: ROMCAM_MODEL or the cache")
    help_text = "default: the protocol's (heavy for shoulder abduction, else full)" if per_protocol else "default: full"
    default = None if per_protocol else "full"
    p.add_argument("--model-variant", choices=["lite", "full", "heavy"], default=default, help=help_text)


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    _add_model_options(p)
    p.add_argument("--filter", choices=FILTER_KINDS, default="butterworth", help="default: butterworth")
    p.add_argument("--cutoff-hz", type=_positive_float, default=6.0, help="Butterworth cut-off (default 6)")
    p.add_argument("--max-gap-s", type=_positive_float, default=MAX_GAP_S, help=f"longest gap to fill ({MAX_GAP_S})")
    p.add_argument("--min-visibility", type=_unit_float, default=MIN_VISIBILITY, help=f"mask below ({MIN_VISIBILITY})")
    p.add_argument("--angles", metavar="A,B", help="comma-separated subset of angles (default: all)")
    p.add_argument("--mirror", action="store_true", help="un-mirror a mirrored webcam picture")
    p.add_argument("--stride", type=_positive_int, default=1, help="analyse every K-th frame (default 1)")
    p.add_argument("--no-video", action="store_true", help="skip annotated.mp4")
    p.add_argument("--camera-profile", type=Path, metavar="FILE", help="undistort landmarks (romcam calibrate camera)")
    p.add_argument(
        "--repair-left-right",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="repair limb left/right label swaps and blank momentarily misplaced limb points (default: on)",
    )
    p.add_argument("--neutral", type=Path, metavar="FILE", help="level the camera roll (romcam calibrate neutral)")
    p.add_argument(
        "--export",
        metavar="FORMATS",
        help="comma-separated: mot (OpenSim angles), trc (landmarks), c3d (landmarks; needs romcam[c3d]), or none "
        "(default: none for analyze, mot,trc for batch)",
    )


def _analysis_config(args: argparse.Namespace, out_dir: Path) -> Any:
    from romcam.app.analyze import AnalyzeConfig
    from romcam.kinematics.angles import resolve_angle_names

    names = None
    if args.angles:
        try:
            names = resolve_angle_names([a.strip() for a in args.angles.split(",") if a.strip()])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    settings = FilterSettings(
        kind=args.filter, cutoff_hz=args.cutoff_hz, max_gap_s=args.max_gap_s, min_visibility=args.min_visibility
    )
    return AnalyzeConfig(
        out_dir=out_dir,
        model=args.model,
        model_variant=args.model_variant,
        filter=settings,
        angles=names,
        mirror=args.mirror,
        write_video=not args.no_video,
        stride=args.stride,
        camera_profile=_existing_file(args.camera_profile, "--camera-profile"),
        repair_left_right=args.repair_left_right,
        neutral=_existing_file(args.neutral, "--neutral"),
        exports=parse_formats(args.export) if args.export is not None else (),
    )


def _add_analyze(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="measure every joint angle through a recorded clip")
    p.add_argument("video", nargs="?", help="video file, image, or webcam index")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--from-landmarks", type=Path, metavar="FILE", help="re-analyse a saved landmarks.npz")
    _add_analysis_options(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=_cmd_analyze)


def _add_batch(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="analyse many clips: folders, globs or a manifest; resumable")
    p.add_argument("inputs", nargs="*", metavar="INPUT", help="folders (searched recursively), files or globs")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    p.add_argument("--manifest", type=Path, metavar="CSV", help="CSV with a 'path' column and metadata columns")
    p.add_argument("--workers", type=_positive_int, default=0, help="worker processes (default: all cores)")
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="default: local")
    p.add_argument("--ray-address", metavar="ADDR", help="Ray cluster address (default: a local Ray instance)")
    p.add_argument("--from-landmarks", action="store_true", help="redo kinematics from saved landmarks only")
    p.add_argument("--retry-failed", action="store_true", help="try clips that failed before again")
    _add_analysis_options(p)
    p.set_defaults(func=_cmd_batch)


def _add_measure(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measure", help="measure ROM with a standard protocol (webcam or video)")
    p.add_argument("--list", action="store_true", help="list the protocols and exit")
    p.add_argument("--protocol", metavar="NAME", help="protocol name (see --list) or a protocol .toml file")
    p.add_argument("--side", choices=["left", "right", "both"], default="both", help="default: both")
    p.add_argument(
        "--mode",
        choices=["auto", "live", "offline"],
        default="auto",
        help="cleaning: live (causal, as on a webcam) or offline (zero-lag, as analyze); auto: offline for a video",
    )
    _add_session_options(p, "no window", "print measurement.json on stdout", per_protocol=True)
    p.set_defaults(func=_cmd_measure)


def _add_session_options(
    p: argparse.ArgumentParser, headless_help: str, json_help: str, per_protocol: bool = False
) -> None:
    """Options shared by the live use cases (measure, exercise)."""
    p.add_argument("--source", default="0", metavar="CAMERA_INDEX|VIDEO", help="webcam index or video (default 0)")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory")
    p.add_argument("--headless", action="store_true", help=headless_help)
    p.add_argument("--patient", metavar="ID", help="pseudonymous patient ID: keeps a history and shows change")
    p.add_argument("--db", type=Path, metavar="PATH", help="history database (default: user data dir)")
    p.add_argument("--mirror", action="store_true", help="un-mirror a mirrored webcam picture")
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("--camera-profile", type=Path, metavar="FILE", help="undistort landmarks (romcam calibrate camera)")
    p.add_argument("--neutral", type=Path, metavar="FILE", help="level the camera roll; measure reports from zero")
    _add_model_options(p, per_protocol)


def _session_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "out_dir": args.out,
        "source": args.source,
        "headless": args.headless,
        "patient": args.patient,
        "db": args.db,
        "mirror": args.mirror,
        "model": args.model,
        "model_variant": args.model_variant,
        "camera_profile": _existing_file(args.camera_profile, "--camera-profile"),
        "neutral": _existing_file(args.neutral, "--neutral"),
    }


def _existing_file(path: Path | None, flag: str) -> Path | None:
    """``path`` when it names a file; a usage error (exit 2) when it names nothing."""
    if path is not None and not path.is_file():
        raise UsageError(f"{flag}: no such file: {path}")
    return path


def _add_exercise(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("exercise", help="guided exercise: count reps, time holds, cue form")
    p.add_argument("--list", action="store_true", help="list the exercises and exit")
    p.add_argument("--program", type=Path, metavar="FILE", help="a program (prescription) TOML file")
    p.add_argument("--exercise", metavar="NAME", help="one exercise from the library (see --list)")
    p.add_argument("--side", choices=["left", "right", "both"], help="override the exercise's side")
    _add_session_options(p, "no window; write DIR/annotated.mp4 instead", "print session.json on stdout")
    p.set_defaults(func=_cmd_exercise)


def _add_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="camera: lens calibration (checkerboard); neutral: roll and zero offsets")
    p.add_argument("what", choices=["camera", "neutral"])
    p.add_argument("--source", metavar="CAMERA|VIDEO|FOLDER", help="webcam index, video, or (camera) image folder")
    p.add_argument("--from-landmarks", type=Path, metavar="NPZ", help="(neutral) saved landmarks instead of a video")
    p.add_argument("--out", required=True, type=Path, metavar="FILE.toml", help="where to write the profile")
    p.add_argument("--board", default="9x6", metavar="COLSxROWS", help="inner corners of the board (default 9x6)")
    p.add_argument("--square-mm", type=_positive_float, default=25.0, help="printed square size (default 25)")
    p.add_argument("--roll-deg", type=float, metavar="DEG", help="(neutral) set the camera roll by hand, no capture")
    p.add_argument("--size", type=_frame_size, metavar="WxH", help="(neutral, with --roll-deg) the video frame size")
    p.add_argument(
        "--accept-poor-fit",
        action="store_true",
        help="(camera) save a solution that fails the checks (RMS above 1 px, implausible lens model) with a warning",
    )
    p.set_defaults(func=_cmd_calibrate)


def _frame_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a frame size WxH: {text!r}") from None
    if w < 1 or h < 1:
        raise argparse.ArgumentTypeError(f"frame size must be positive, got {text}")
    return w, h


def _add_history(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "history",
        help="a patient's trend, export the whole history, or import a saved result",
        description="romcam history PATIENT | --export CSV | import DIR/measurement.json (or session.json)",
    )
    p.add_argument("patient", nargs="?", help="patient ID, or 'import'")
    p.add_argument("file", nargs="?", type=Path, help="(import) a measurement.json or session.json to add")
    p.add_argument("--protocol", metavar="NAME", help="only this protocol")
    p.add_argument("--db", type=Path, metavar="PATH", help="history database (default: user data dir)")
    p.add_argument("--export", type=Path, metavar="CSV", help="write every measurement to a CSV file")
    p.add_argument(
        "--plot",
        type=Path,
        metavar="PNG",
        help="where to write the trend plot (default: history_ID.png beside the history file)",
    )
    p.set_defaults(func=_cmd_history)


def _add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="the browser app for patients and therapists (needs romcam[web])",
        description="Serve the local browser app: exercise and measure with the webcam, patients' history, "
        "reports, measurements and batches of uploaded videos. Binds to 127.0.0.1 unless --host says otherwise.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--db", type=Path, metavar="PATH", help="history database (default: user data dir)")
    p.add_argument("--data", type=Path, metavar="DIR", help="where results are saved (default: user data dir/web)")
    p.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    _add_model_options(p, per_protocol=True)  # measurements: the protocol's; exercise and batch: full
    p.set_defaults(func=_cmd_serve)


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from romcam.web.serve import serve
        from romcam.web.server import ServeSettings
    except ImportError as exc:
        missing = f"{exc.name} is missing"
        raise RomcamError(f"romcam serve needs the web extra: pip install 'romcam[web]' ({missing})") from None
    import platformdirs

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    data = args.data or Path(platformdirs.user_data_dir("romcam")) / "web"
    settings = ServeSettings(data_dir=data, db=args.db, model=args.model, model_variant=args.model_variant)
    serve(settings, args.host, args.port, open_browser=not args.no_browser)
    return 0


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="fetch, locate or list the pose models")
    p.add_argument("action", choices=["fetch", "path", "list"])
    p.add_argument("--variant", choices=["lite", "full", "heavy"], default="full")
    p.set_defaults(func=_cmd_models)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="romcam", description="Joint range of motion from a webcam or a video.")
    parser.add_argument("--version", action="version", version=f"romcam {romcam.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_analyze(sub)
    _add_batch(sub)
    _add_measure(sub)
    _add_exercise(sub)
    _add_calibrate(sub)
    _add_history(sub)
    _add_serve(sub)
    _add_models(sub)
    return parser


def _print_ranges(summary: Any) -> None:
    """The printed table of ``analyze``: one line per angle with its range, coverage, grade and flag words."""
    from romcam.output.words import angle_note

    frames = summary.frames
    print(f"{frames.with_person}/{frames.count} frames with a person ({frames.person_fraction:.0%})")
    for warning in summary.warnings:
        print(f"warning: {warning}")
    print(f"{'angle':<26}{'min':>8}{'max':>8}{'range':>8}{'valid':>8}{'conf':>6}  note")
    for name, a in summary.angles.items():
        note = angle_note(a)
        grade = a.confidence.grade if a.min_deg is not None else "-"
        if a.min_deg is None or a.max_deg is None or a.range_deg is None:
            print(f"{name:<26}{'-':>8}{'-':>8}{'-':>8}{a.valid_fraction:>8.0%}{grade:>6}  {note}")
        else:
            print(
                f"{name:<26}{a.min_deg:>8.1f}{a.max_deg:>8.1f}{a.range_deg:>8.1f}"
                f"{a.valid_fraction:>8.0%}{grade:>6}  {note}"
            )


def _cmd_analyze(args: argparse.Namespace) -> int:
    from romcam.app.analyze import run_analyze
    from romcam.output.tables import to_json
    from romcam.output.words import summary_record

    if bool(args.video) == bool(args.from_landmarks):
        raise UsageError("give either a VIDEO or --from-landmarks FILE")
    config = replace(_analysis_config(args, args.out), source=args.video, from_landmarks=args.from_landmarks)
    progress = _Progress("analyze", "frame", enabled=sys.stderr.isatty())
    try:
        result = run_analyze(config, progress)
    finally:
        progress.close()
    if args.json:
        print(to_json(summary_record(result.summary)))
    else:
        _print_ranges(result.summary)
        print(f"wrote {', '.join(str(p) for p in result.files.values())}")
    if result.interrupted:
        print("romcam: interrupted; the frames read so far were analysed and saved", file=sys.stderr)
        return 130
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from romcam.app.batch import DEFAULT_EXPORTS, BatchConfig, run_batch

    if not args.inputs and not args.manifest:
        raise UsageError("give at least one INPUT or --manifest CSV")
    analysis = _analysis_config(args, args.out)
    if args.export is None:
        analysis = replace(analysis, exports=DEFAULT_EXPORTS)
    config = BatchConfig(
        inputs=tuple(args.inputs),
        out_dir=args.out,
        analysis=analysis,
        manifest=args.manifest,
        workers=args.workers,
        engine=args.engine,
        ray_address=args.ray_address,
        from_landmarks=args.from_landmarks,
        retry_failed=args.retry_failed,
    )
    progress = _Progress("batch", "video", enabled=sys.stderr.isatty())
    try:
        report = run_batch(config, progress)
    finally:
        progress.close()
    print(
        f"videos: {report.done} done, {report.skipped} skipped, {report.failed} failed; "
        f"{report.frames} frames in {report.seconds:.1f} s ({report.frames_per_s:.1f} frames/s)"
    )
    if report.stills:
        names = ", ".join(p.name for p in report.stills[:5]) + (", ..." if len(report.stills) > 5 else "")
        print(f"not analysed: {len(report.stills)} still image(s) ({names}); use romcam analyze IMAGE for those")
    print(f"wrote {args.out / 'summary.csv'} and {args.out / 'failures.csv'}")
    if report.interrupted:
        print("romcam: interrupted; finished videos are kept, unfinished ones will be redone", file=sys.stderr)
        return 130
    return 1 if report.failed and not report.done and not report.skipped else 0


def _cmd_measure(args: argparse.Namespace) -> int:
    from romcam.app.measure import MeasureConfig, run_measure
    from romcam.protocols import builtin_protocols, get_protocol

    if args.list:
        for name, p in builtin_protocols().items():
            print(
                f"{name:<22} {p.view:<6} {p.title}"
                + (f" (pose model: {p.model_variant})" if p.model_variant != "full" else "")
            )
        return 0
    if not args.protocol or not args.out:
        raise UsageError("measure needs --protocol NAME and --out DIR (or --list)")
    sides = ("left", "right") if args.side == "both" else (args.side,)
    config = MeasureConfig(protocol=get_protocol(args.protocol), sides=sides, mode=args.mode, **_session_kwargs(args))
    m = run_measure(config)
    if not _print_json(args, m):
        _print_measurement(m)
        print(f"wrote {args.out / 'measurement.json'} and {args.out / 'report.html'}")
    return _live_exit(m)


def _print_json(args: argparse.Namespace, result: dict[str, Any]) -> bool:
    """With ``--json``, the result on stdout (its history problem goes to stderr); False without."""
    from romcam.output.tables import to_json

    if args.json:
        print(to_json({k: v for k, v in result.items() if k != "history_error"}))
    return bool(args.json)


def _print_measurement(m: dict[str, Any]) -> None:
    for r in m["results"]:
        if r["peak_deg"] is None:
            print(f"{m['protocol']['title']}, {r.get('note') or r['side'] + ': not measured'}")
        else:
            trials = ", ".join(f"{t:.1f}" for t in r["trials_deg"])
            grade = r.get("confidence", {}).get("grade", "-")
            print(
                f"{m['protocol']['title']}, {r['side']}: {r['peak_deg']:.1f} deg  "
                f"(trials: {trials or '-'}; confidence {grade})"
            )
        if r.get("change"):
            print(f"  change: {r['change']['interpretation']}")
        for flag in r["flags"]:
            print(f"  flag: {flag}")


def _live_exit(result: dict[str, Any]) -> int:
    """Exit code of a finished live session: 1 when the history could not store it (the files are
    written), 130 when Ctrl-C stopped it, else 0; says why on stderr."""
    if result.get("history_error"):
        print(f"romcam: error: {result['history_error']}", file=sys.stderr)
        return 1
    if result.get("interrupted"):
        print("romcam: interrupted; what was finished so far is measured and saved", file=sys.stderr)
        return 130
    return 0


def _cmd_exercise(args: argparse.Namespace) -> int:
    from romcam.app.exercise import ExerciseConfig, run_exercise
    from romcam.exercises import builtin_exercises

    if args.list:
        for name, e in builtin_exercises().items():
            print(f"{name:<26} {e.view:<6} {e.title}")
        return 0
    if bool(args.program) == bool(args.exercise) or not args.out:
        raise UsageError("exercise needs --out DIR and either --program FILE or --exercise NAME (or --list)")
    record = run_exercise(ExerciseConfig(program=_program(args), **_session_kwargs(args)))
    if not _print_json(args, record):
        _print_session(record)
        print(f"wrote {args.out / 'session.json'}")
    return _live_exit(record)


def _program(args: argparse.Namespace) -> Any:
    """The program file, or one library exercise (with ``--side``) as a program of one item."""
    from romcam.exercises import load_program, single_exercise_program

    return load_program(args.program) if args.program else single_exercise_program(args.exercise, args.side)


def _print_session(record: dict[str, Any]) -> None:
    for e in record["exercises"]:
        peaks = [r["peak_deg"] for r in e["rep_details"]]
        peak_text = f", peaks {min(peaks):.0f}-{max(peaks):.0f} deg" if peaks else ""
        print(f"{e['title']}: {e['reps']} reps{peak_text}")
        if e["prescribed"]["hold_s"]:
            print(f"  holds achieved: {e['holds_achieved']}")
        for fault, n in e["form_faults"].items():
            print(f"  form: {fault} in {n} rep(s)")
    if record["stopped_early"]:
        print("stopped early; what was done is saved")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    if args.what == "neutral":
        return _calibrate_neutral(args)
    from romcam.capture.camera_profile import calibrate, calibration_images, solution_problems

    if not args.source:
        raise UsageError("calibrate camera needs --source CAMERA|VIDEO|FOLDER")
    try:
        cols, rows = (int(v) for v in args.board.lower().split("x"))
    except ValueError:
        raise UsageError(f"--board takes COLSxROWS inner corners, like 9x6, not {args.board!r}") from None
    images = calibration_images(args.source)
    profile = calibrate(images, (cols, rows), args.square_mm, note=f"from {args.source}")
    problems = "; ".join(solution_problems(profile))
    if problems and not args.accept_poor_fit:
        raise RomcamError(
            f"camera solution rejected, nothing written: {problems}. Film the flat, printed board sharply in 10-20 "
            "views that together cover the whole image, tilted different ways (--accept-poor-fit keeps it anyway)"
        )
    if problems:
        print(f"warning: {problems}; saved because of --accept-poor-fit", file=sys.stderr)
    profile.save(args.out)
    k = profile.camera_matrix
    print(f"board found in {profile.views} of {len(images)} images; RMS reprojection error {profile.rms_px:.3f} px")
    print(
        f"fx {k[0, 0]:.1f}  fy {k[1, 1]:.1f}  cx {k[0, 2]:.1f}  cy {k[1, 2]:.1f}  "
        f"k1 {profile.dist_coeffs[0]:+.4f}  k2 {profile.dist_coeffs[1]:+.4f}"
    )
    print(f"wrote {args.out}")
    return 0


def _calibrate_neutral(args: argparse.Namespace) -> int:
    import tempfile

    from romcam.app.calibrate import neutral_from_source
    from romcam.capture.neutral_profile import NeutralProfile

    if args.roll_deg is not None:
        if args.source or args.from_landmarks or args.size is None:
            raise UsageError("calibrate neutral --roll-deg DEG needs --size WxH and no --source/--from-landmarks")
        NeutralProfile(args.roll_deg, *args.size).save(args.out)
        print(f"camera roll {args.roll_deg:+.1f} deg set by hand for {args.size[0]}x{args.size[1]}; no zero offsets")
        print(f"wrote {args.out}")
        return 0
    if bool(args.source) == bool(args.from_landmarks):
        raise UsageError("calibrate neutral needs --source VIDEO, --from-landmarks NPZ or --roll-deg DEG --size WxH")
    with tempfile.TemporaryDirectory() as work:
        profile = neutral_from_source(args.source, args.from_landmarks, Path(work))
    profile.save(args.out)
    print(
        f"camera roll {profile.roll_deg:+.1f} deg over {profile.frames} frames; zero offsets of "
        f"{len(profile.zero_offsets_deg)} angles recorded"
    )
    print(f"wrote {args.out}")
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from romcam.history import History

    if args.patient == "import":
        return _history_import(args)
    if args.file is not None:
        raise UsageError(f"unexpected argument {args.file} (did you mean: romcam history import FILE?)")
    with History.open(args.db, create=False) as history:
        if args.export:
            n = history.export_csv(args.export)
            print(f"wrote {n} measurements to {args.export}")
            return 0
        if not args.patient:
            raise UsageError("give a PATIENT ID or --export CSV")
        points = history.points(args.patient, args.protocol)
    if not points:
        only = f" and protocol {args.protocol}" if args.protocol else ""
        raise RomcamError(f"no measurements for patient {args.patient!r}{only}")
    _print_history(points)
    safe_id = "".join(c if c.isalnum() else "_" for c in args.patient)
    plot = args.plot or history.path.parent / f"history_{safe_id}.png"  # beside the history, not in the cwd
    if _write_trend(plot, points, f"patient {args.patient}"):
        print(f"wrote {plot}")
    return 0


def _history_import(args: argparse.Namespace) -> int:
    from romcam.history import History, import_result_file

    if args.file is None:
        raise UsageError("history import needs a FILE: DIR/measurement.json or DIR/session.json")
    with History.open(args.db) as history:
        patient, session_id, new = import_result_file(history, args.file)
    if session_id is None:
        print(f"{args.file}: no measured value in it; nothing added")
    else:
        print(f"{'added' if new else 'already in the history:'} session {session_id} of patient {patient}")
    return 0


def _print_history(points: list[Any]) -> None:
    """One line per measurement: local date and time, protocol (as wide as the longest), side, peak, mean, flags."""
    from romcam.output.plot import local_time

    width = max(len("protocol"), *(len(p.protocol) for p in points)) + 2
    print(f"{'date (local)':<18}{'protocol':<{width}}{'side':<7}{'peak':>8}{'mean':>8}  flags")
    for p in points:
        peak = "-" if p.peak_deg is None else f"{p.peak_deg:.1f}"
        mean = "-" if p.mean_deg is None else f"{p.mean_deg:.1f}"
        when = local_time(p.started_at).strftime("%Y-%m-%d %H:%M")
        print(f"{when:<18}{p.protocol:<{width}}{p.side:<7}{peak:>8}{mean:>8}  {p.flags}")


def _write_trend(path: Path, points: list[Any], title: str) -> bool:
    """The trend plot of ``points`` (one panel per protocol) as a PNG at ``path``; False when nothing to plot."""
    from romcam.output.plot import history_png, protocol_references

    data = history_png(points, protocol_references(), title)
    if data:
        write_bytes_atomic(path, data)
    return bool(data)


def _cmd_models(args: argparse.Namespace) -> int:
    from romcam.pose.models import VARIANTS, cache_dir, resolve_model, sha256_of

    if args.action == "list":
        for v in VARIANTS.values():
            cached = cache_dir() / v.filename
            state = "cached" if cached.is_file() and sha256_of(cached) == v.sha256 else "not cached"
            print(f"{v.name:<6} {state:<11} sha256 {v.sha256}")
        return 0
    progress = _Progress(f"download {args.variant}", "B", enabled=sys.stderr.isatty())
    try:
        model = resolve_model(None, args.variant, allow_fetch=args.action == "fetch", progress=progress)
    finally:
        progress.close()
    print(model.path if args.action == "path" else f"{model.variant} model ready at {model.path} ({model.origin})")
    return 0


def _divert_native_stderr() -> None:
    """Send what C++ libraries (MediaPipe, TFLite, FFmpeg) print to file descriptor 2 into a log file.

    Python's own ``sys.stderr`` keeps the terminal through a duplicate of the descriptor, so romcam's
    messages and progress bars still show; the native chatter lands in ``<cache>/native.log``.
    """
    import platformdirs

    log_dir = Path(platformdirs.user_cache_dir("romcam"))
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        native = os.open(log_dir / "native.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    sys.stderr = os.fdopen(terminal, "w", buffering=1)
    os.dup2(native, 2)
    os.close(native)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        _divert_native_stderr()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="romcam: %(message)s")
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers below, not at interpreter exit
        return code
    except UsageError as exc:
        parser.error(str(exc))
    except RomcamError as exc:
        print(f"romcam: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into a command that stopped reading (e.g. head): no message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # a file romcam was told to read or write: one line, not a traceback
        where = f" {exc.filename}" if exc.filename else ""
        print(f"romcam: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return 1
    except BaseException as exc:  # Ctrl-C, as it is or wrapped in another error; anything else as it is
        if not caused_by_ctrl_c(exc):
            raise
        print("romcam: interrupted", file=sys.stderr)
        return 130
    return 0


def caused_by_ctrl_c(exc: BaseException) -> bool:
    """Whether Ctrl-C is behind ``exc``: Python reports a KeyboardInterrupt raised while a module defines a class
    (e.g. matplotlib's, loaded on first use) as a RuntimeError caused by it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
