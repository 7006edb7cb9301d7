"""``romcam batch``: many recorded clips in, per-clip outputs and one summary table out.

Each clip is analysed exactly as ``romcam analyze`` does, in a worker that loads the model once.
Outputs go to ``OUT/<relative path without extension>/`` through a temporary folder that is renamed
into place when the clip is finished, with a marker holding the clip's content hash and a hash of
the settings: a re-run skips clips whose marker matches, redoes those whose settings changed, and a
killed run leaves no half-written clip behind.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import logging
import os
import resource
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from romcam.app.analyze import AnalyzeConfig, run_analyze
from romcam.capture.source import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from romcam.errors import RomcamError, UsageError
from romcam.fileio import atomic_path
from romcam.output.exports import EXPORT_FILES
from romcam.output.tables import write_json
from romcam.pose.models import LoadedModel, sha256_of
from romcam.thresholds import MIN_PERSON_FRACTION, MIN_VALID_FRACTION
from romcam.types import ProgressFn

log = logging.getLogger(__name__)

MARKER = "romcam-batch.json"
TMP_DIR = ".romcam-tmp"
LOCK = ".romcam-batch.lock"
CLIP_FILES = ("summary.json", "angles.csv", "landmarks.npz", "angles.png")
"""What a clip's folder holds when it is done (plus ``annotated.mp4`` unless ``--no-video``, and the exports)."""

DEFAULT_EXPORTS = ("mot", "trc")
"""What ``romcam batch`` exports unless ``--export`` says otherwise."""
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class BatchConfig:
    """What ``romcam batch`` runs; ``analysis`` holds the per-clip settings (its paths are unused)."""

    inputs: tuple[str, ...]
    out_dir: Path
    analysis: AnalyzeConfig
    manifest: Path | None = None
    workers: int = 0  # 0 = all cores
    engine: str = "local"
    ray_address: str | None = None
    from_landmarks: bool = False
    retry_failed: bool = False

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise UsageError(f"unknown engine {self.engine!r}; valid engines: {', '.join(ENGINES)}")
        if self.workers < 0:
            raise UsageError(f"--workers must be >= 1, got {self.workers}")

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class Job:
    """One clip: where it is, where its outputs go (relative to the output folder), its metadata."""

    path: Path
    key: str
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class JobResult:
    """What happened to one clip."""

    key: str
    status: str  # "done", "failed" or "skipped"
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0
    worker_pid: int = 0
    peak_rss_mb: float = 0.0


# --- discovering the clips --------------------------------------------------------------------


def _videos_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def stills_in(inputs: tuple[str, ...]) -> list[Path]:
    """Still images in the input folders, which batch does not analyse (``romcam analyze IMAGE`` does)."""
    return sorted(
        p
        for item in inputs
        if Path(item).is_dir()
        for p in Path(item).rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _read_manifest(path: Path) -> list[tuple[Path, dict[str, str]]]:
    if not path.is_file():
        raise RomcamError(f"no such manifest: {path}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise RomcamError(f"manifest {path} needs a 'path' column (has: {', '.join(reader.fieldnames or [])})")
        rows = []
        for row in reader:
            clip = Path(row["path"])
            clip = clip if clip.is_absolute() else path.parent / clip
            rows.append((clip, {k: v for k, v in row.items() if k != "path" and k is not None}))
    return rows


def _candidates(inputs: tuple[str, ...], manifest: Path | None) -> list[tuple[Path, Path, dict[str, str]]]:
    """(clip, base folder for its relative output path, metadata) for every input."""
    found: list[tuple[Path, Path, dict[str, str]]] = []
    if manifest is not None:
        found += [(clip, manifest.parent, meta) for clip, meta in _read_manifest(manifest)]
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found += [(clip, path, {}) for clip in _videos_under(path)]
        elif path.exists():
            found.append((path, path.parent, {}))
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            if not matches:
                raise RomcamError(f"no such file, folder or matching glob: {item}")
            found += [(m, m.parent, {}) for m in matches if m.is_file()]
    return found


def _relative_key(clip: Path, base: Path) -> str:
    try:
        rel = clip.resolve().relative_to(base.resolve())
    except ValueError:
        rel = Path(clip.name)
    return rel.with_suffix("").as_posix()


def discover(inputs: tuple[str, ...], manifest: Path | None = None) -> list[Job]:
    """Every clip named by folders (recursively), files, globs and a manifest, each with a unique key.

    A key is the clip's path relative to the folder it was found in, without extension; clashes
    (``a.mp4`` and ``a.mov``, or the same name in two inputs) get the extension, then a number.
    The same clip named twice is kept once.
    """
    jobs: list[Job] = []
    seen_paths: set[Path] = set()
    used: set[str] = set()
    for clip, base, meta in _candidates(inputs, manifest):
        if clip.resolve() in seen_paths:
            continue
        seen_paths.add(clip.resolve())
        key = _relative_key(clip, base)
        if key in used:
            key = f"{key}_{clip.suffix.lstrip('.').lower()}"
        n = 2
        unique = key
        while unique in used:
            unique, n = f"{key}-{n}", n + 1
        used.add(unique)
        jobs.append(Job(clip, unique, meta))
    return jobs


# --- fingerprints -----------------------------------------------------------------------------


def settings_sha256(analysis: AnalyzeConfig, model_sha256: str) -> str:
    """Hash of everything that changes a clip's results (model, filter, angles, stride, mirror, video)."""
    settings = {
        "model": model_sha256,
        "filter": asdict(analysis.filter),
        "angles": analysis.angles,
        "stride": analysis.stride,
        "mirror": analysis.mirror,
        "num_poses": analysis.num_poses,
        "video": analysis.write_video,
        "camera_profile": file_sha256_or_none(analysis.camera_profile),
        "repair_left_right": analysis.repair_left_right,
        "neutral": file_sha256_or_none(analysis.neutral),
        "exports": list(analysis.exports),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def file_sha256_or_none(path: Path | None) -> str | None:
    return None if path is None else sha256_of(path)


def missing_outputs(
    folder: Path, status: str, write_video: bool, exports: tuple[str, ...] = DEFAULT_EXPORTS
) -> list[str]:
    """The files a finished clip folder should hold but does not (a clip that failed needs only its marker)."""
    if status != "done":
        return []
    needed = [*CLIP_FILES, *(["annotated.mp4"] if write_video else []), *(EXPORT_FILES[e] for e in exports)]
    return [name for name in needed if not (folder / name).is_file()]


def read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((folder / MARKER).read_text())
        return data
    except (OSError, ValueError):
        return None


# --- one clip ---------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _install(tmp: Path, final: Path) -> None:
    """Replace ``final`` by the finished ``tmp`` folder (old outputs go only when the new ones are whole)."""
    if final.exists():
        trash = tmp.with_name(tmp.name + ".old")
        os.replace(final, trash)
        os.replace(tmp, final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)


def process_job(
    job: Job,
    out_dir: Path,
    analysis: AnalyzeConfig,
    content_sha: str,
    settings_sha: str,
    model: LoadedModel | None,
    from_landmarks: bool = False,
) -> JobResult:
    """Analyse one clip into ``out_dir/job.key`` (via a temporary folder); never raises for bad clips."""
    start = time.monotonic()
    final = out_dir / job.key
    tmp = out_dir / TMP_DIR / f"{job.key.replace('/', '__')}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    marker: dict[str, Any] = {
        "video": str(job.path),
        "content_sha256": content_sha,
        "settings_sha256": settings_sha,
        "meta": job.meta,
    }
    result = JobResult(job.key, "done", worker_pid=os.getpid())
    try:
        source = None if from_landmarks else str(job.path)
        landmarks = None
        if from_landmarks:  # the model's outputs (landmarks, video) are kept; kinematics are redone
            landmarks = tmp / "landmarks.npz"
            shutil.copy2(final / "landmarks.npz", landmarks)
            if (final / "annotated.mp4").is_file():
                shutil.copy2(final / "annotated.mp4", tmp / "annotated.mp4")
        config = replace(analysis, out_dir=tmp, source=source, from_landmarks=landmarks)
        summary = run_analyze(config, model=model).summary
        result.frames = summary.frames.count
    except RomcamError as exc:
        result.status, result.reason = "failed", str(exc)
    except Exception as exc:  # a task boundary: any failure of one clip is recorded, never stops the batch
        log.exception("%s failed", job.path)
        result.status, result.reason = "failed", f"{type(exc).__name__}: {exc}"
    marker |= {"status": result.status, "reason": result.reason, "frames": result.frames}
    try:
        write_json(tmp / MARKER, marker)
        _install(tmp, final)
    except (OSError, RomcamError) as exc:  # e.g. disk full: this clip failed, the batch goes on
        shutil.rmtree(tmp, ignore_errors=True)
        result.status, result.reason = "failed", f"cannot save the outputs: {exc}"
    result.seconds = time.monotonic() - start
    result.peak_rss_mb = _peak_rss_mb()
    return result


# --- engines ----------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str | None, variant: str) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    _WORKER["model"] = LoadedModel.load(model_path, variant)


def _worker_task(args: tuple[Job, Path, AnalyzeConfig, str, str]) -> JobResult:
    job, out_dir, analysis, content_sha, settings_sha = args
    return process_job(job, out_dir, analysis, content_sha, settings_sha, _WORKER["model"])


Task = tuple[Job, Path, AnalyzeConfig, str, str]


def run_local(tasks: list[Task], config: BatchConfig) -> Iterator[JobResult]:
    """Run tasks in ``config.n_workers`` spawned processes; Ctrl-C terminates them (their clips are abandoned)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    analysis = config.analysis
    pool = ctx.Pool(min(config.n_workers, len(tasks)), _init_worker, (analysis.model, analysis.model_variant))
    try:
        yield from pool.imap_unordered(_worker_task, tasks)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


class _RayWorker:
    """A Ray actor holding one loaded model; runs the same per-clip task as a local worker."""

    def __init__(self, model_path: str | None, variant: str) -> None:
        self.model = LoadedModel.load(model_path, variant)

    def run(self, task: Task) -> JobResult:
        job, out_dir, analysis, content_sha, settings_sha = task
        return process_job(job, out_dir, analysis, content_sha, settings_sha, self.model)


def run_ray(tasks: list[Task], config: BatchConfig) -> Iterator[JobResult]:
    """Run tasks on a Ray cluster (``config.ray_address``) or a local Ray instance, one actor per worker."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError as exc:
        raise RomcamError("the ray engine needs Ray: pip install 'romcam[ray]'") from exc
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=config.ray_address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = config.ray_address or "(local)"
            raise RomcamError(f"cannot connect to the Ray cluster {where}: {exc}") from exc
    try:
        workers = min(config.n_workers, len(tasks))
        model = config.analysis.model
        model = str(Path(model).resolve()) if model else os.environ.get("ROMCAM_MODEL")
        actor_cls = ray.remote(num_cpus=1)(_RayWorker)
        pool = ActorPool([actor_cls.remote(model, config.analysis.model_variant) for _ in range(workers)])
        yield from pool.map_unordered(lambda actor, task: actor.run.remote(task), tasks)
    finally:
        if started:
            ray.shutdown()


# --- the whole batch --------------------------------------------------------------------------


@dataclass
class BatchReport:
    """Counts and figures of one batch run."""

    done: int = 0
    skipped: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    results: list[JobResult] = field(default_factory=list)
    stills: list[Path] = field(default_factory=list)  # still images in the inputs, not analysed

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _plan(jobs: list[Job], config: BatchConfig, settings_sha: str) -> tuple[list[Task], list[JobResult]]:
    tasks: list[Task] = []
    skipped: list[JobResult] = []
    analysis = config.analysis
    for job in jobs:
        folder = config.out_dir / job.key
        if config.from_landmarks:
            if not (folder / "landmarks.npz").is_file():
                skipped.append(JobResult(job.key, "failed", "no saved landmarks (run without --from-landmarks first)"))
                continue
            tasks.append((job, config.out_dir, config.analysis, *_landmark_fingerprints(folder, config.analysis)))
            continue
        try:
            content = sha256_of(job.path)
        except OSError as exc:
            content = f"unreadable: {exc.strerror}"
        marker = read_marker(folder)
        same = (
            marker is not None
            and marker.get("content_sha256") == content
            and marker.get("settings_sha256") == settings_sha
            and not missing_outputs(folder, marker.get("status", ""), analysis.write_video, analysis.exports)
        )
        if same and marker is not None and (marker["status"] == "done" or not config.retry_failed):
            skipped.append(JobResult(job.key, "skipped", marker.get("reason", "")))
        else:
            tasks.append((job, config.out_dir, config.analysis, content, settings_sha))
    # longest first (by file size) keeps the workers evenly busy to the end
    tasks.sort(key=lambda task: -_size_bytes(task[0].path))
    return tasks, skipped


def _landmark_fingerprints(folder: Path, analysis: AnalyzeConfig) -> tuple[str, str]:
    """(content, settings) fingerprints for a clip redone from its saved landmarks: the clip's content
    as recorded by the model run, and the new settings with the model that made the landmarks, so that
    a later normal run with these settings finds the clip done instead of redoing it."""
    marker = read_marker(folder) or {}
    try:
        model_sha = json.loads((folder / "summary.json").read_text())["model"]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        model_sha = "from-landmarks"
    return str(marker.get("content_sha256", "")), settings_sha256(analysis, model_sha)


def _size_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _run_tasks(tasks: list[Task], config: BatchConfig) -> Iterator[JobResult]:
    if config.from_landmarks:
        for job, out_dir, analysis, content, settings in tasks:
            yield process_job(job, out_dir, analysis, content, settings, None, from_landmarks=True)
    elif config.engine == "ray":
        yield from run_ray(tasks, config)
    else:
        yield from run_local(tasks, config)


def run_batch(config: BatchConfig, progress: ProgressFn | None = None) -> BatchReport:
    """Analyse every clip not already done with the same settings; write summary.csv and failures.csv."""
    from romcam.fileio import check_output_dir
    from romcam.kinematics.angles import resolve_angle_names

    resolve_angle_names(config.analysis.angles)
    jobs = discover(config.inputs, config.manifest)
    stills = stills_in(config.inputs)
    if not jobs:
        still_note = f" ({len(stills)} still images: batch analyses videos; use romcam analyze IMAGE)" if stills else ""
        raise RomcamError(f"no video files found in the inputs{still_note}")
    check_output_dir(config.out_dir)
    with _locked(config.out_dir):
        report = _run_locked(config, jobs, progress)
    report.stills = stills
    return report


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``out_dir`` for the whole batch; a second batch into it is refused."""
    import fcntl

    fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RomcamError(
            f"another romcam batch is writing into {out_dir}: wait for it to finish or give another --out"
        ) from None
    try:
        yield
    finally:
        os.close(fd)


def _run_locked(config: BatchConfig, jobs: list[Job], progress: ProgressFn | None) -> BatchReport:
    from romcam.pose.models import resolve_model

    shutil.rmtree(config.out_dir / TMP_DIR, ignore_errors=True)
    model_sha = (
        "from-landmarks"
        if config.from_landmarks
        else resolve_model(config.analysis.model, config.analysis.model_variant).sha256
    )
    settings_sha = settings_sha256(config.analysis, model_sha)
    tasks, skipped = _plan(jobs, config, settings_sha)
    report = BatchReport(skipped=sum(r.status == "skipped" for r in skipped), results=list(skipped))
    report.failed = len(skipped) - report.skipped
    start = time.monotonic()
    try:
        for i, result in enumerate(_run_tasks(tasks, config) if tasks else iter(())):
            report.results.append(result)
            report.done += result.status == "done"
            report.failed += result.status == "failed"
            report.frames += result.frames
            if progress:
                progress(i + 1, len(tasks))
    except KeyboardInterrupt:
        report.interrupted = True
    report.seconds = time.monotonic() - start
    shutil.rmtree(config.out_dir / TMP_DIR, ignore_errors=True)
    write_tables(jobs, config.out_dir, config.analysis.exports)
    return report


# --- tables -----------------------------------------------------------------------------------

SUMMARY_COLUMNS = [
    "video",
    "output",
    "angle",
    "min_deg",
    "max_deg",
    "range_deg",
    "peak_time_s",
    "valid_fraction",
    "flags",
]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


BATCH_FLAGS = {
    "view": "wrong_view",
    "far_side": "far_side",
    "foreshortened": "foreshortened",
    "out_of_range": "out_of_range",
}
"""The summary's flag codes that become batch flags, and their names in ``summary.csv``."""


def angle_flags(stats: dict[str, Any], summary: dict[str, Any]) -> list[str]:
    """Why a number deserves care (or is absent): never measured, not measurable (every frame flagged: the row
    has no number), mostly missing, person often out of view, cut short, a short read, and the summary's flag
    codes (wrong view, far side of a side view, limb out of the image plane, beyond physiological range)."""
    checks = {
        "not_measured": stats.get("status") == "not_seen" or (stats["min_deg"] is None and "status" not in stats),
        "not_measurable": stats.get("status") == "not_measurable",
        "low_valid_fraction": stats["min_deg"] is not None and stats["valid_fraction"] < MIN_VALID_FRACTION,
        "person_not_always_in_view": summary["frames"]["person_fraction"] < MIN_PERSON_FRACTION,
        "interrupted": bool(summary["video"].get("interrupted")),
        "short_read": any(w.startswith("short read") for w in summary.get("warnings", [])),
    }
    codes = stats.get("flag_codes", [])
    return [name for name, hit in checks.items() if hit] + [BATCH_FLAGS[c] for c in BATCH_FLAGS if c in codes]


def write_tables(jobs: list[Job], out_dir: Path, exports: tuple[str, ...] = DEFAULT_EXPORTS) -> None:
    """summary.csv (one row per clip and angle) and failures.csv, from the finished clips' folders."""
    meta_columns = sorted({k for job in jobs for k in job.meta})
    summary_rows, failure_rows = [], []
    for job in jobs:
        folder = out_dir / job.key
        marker = read_marker(folder)
        if marker is None:
            continue
        meta = [job.meta.get(k, "") for k in meta_columns]
        if marker["status"] != "done":
            failure_rows.append([str(job.path), job.key, marker.get("reason", ""), *meta])
            continue
        missing = missing_outputs(folder, "done", write_video=False, exports=exports)
        if missing:
            reason = f"outputs incomplete ({', '.join(missing)} missing); the next run redoes this clip"
            failure_rows.append([str(job.path), job.key, reason, *meta])
            continue
        try:
            summary = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError) as exc:
            failure_rows.append([str(job.path), job.key, f"unreadable summary.json ({exc})", *meta])
            continue
        for name, s in summary["angles"].items():
            summary_rows.append(
                [
                    str(job.path),
                    job.key,
                    name,
                    _fmt(s["min_deg"]),
                    _fmt(s["max_deg"]),
                    _fmt(s["range_deg"]),
                    _fmt(s["peak_time_s"]),
                    _fmt(s["valid_fraction"], 4),
                    ";".join(angle_flags(s, summary)),
                    *meta,
                ]
            )
    _write_csv(out_dir / "summary.csv", [*SUMMARY_COLUMNS, *meta_columns], summary_rows)
    _write_csv(out_dir / "failures.csv", ["video", "output", "reason", *meta_columns], failure_rows)


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
