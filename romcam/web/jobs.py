"""Work on uploaded videos for the browser app: a measurement protocol (``app.measure``) or a batch
(``app.batch``), one job at a time in a background thread, with progress the page polls.

Uploaded videos stay on this machine and are deleted when their job ends, unless the user asked to keep them.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import numpy as np

from romcam.app.analyze import AnalyzeConfig
from romcam.app.batch import BatchConfig, run_batch
from romcam.app.measure import MeasureConfig, SideTrack, measure_over
from romcam.app.session import live_source
from romcam.errors import RomcamError
from romcam.pipeline.stream import PoseEstimator
from romcam.pose.models import DEFAULT_VARIANT


@dataclass
class JobState:
    """What the page polls: state ("queued", "running", "done", "failed"; "dropped": the server stopped before it
    ran), progress 0..1, a one-line message, the result folder (under the results root) and the files written
    there."""

    job_id: str
    kind: str
    folder: str
    state: str = "queued"
    progress: float = 0.0
    message: str = ""
    files: list[str] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)


class _FrameCounter:
    """A measure display that only counts frames into the job's progress."""

    def __init__(self, job: JobState, total_frames: int) -> None:
        self.job, self.total, self.seen = job, max(total_frames, 1), 0

    def show(
        self, bgr: np.ndarray, xy: np.ndarray, metrics: dict[str, float], tracks: dict[str, SideTrack], events: list
    ) -> bool:
        self.seen += 1
        self.job.progress = min(0.99, self.seen / self.total)
        return True

    def close(self) -> None:
        pass


def job_folder_name(kind: str, label: str) -> str:
    """A result folder name: local time, kind and a label reduced to letters, digits, '-' and '_'."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:40].strip("_") or "anonymous"
    return f"{datetime.now().strftime('%Y%m%d-%H%M%S')}_{kind}_{safe}_{uuid.uuid4().hex[:6]}"


class JobRunner:
    """Runs uploaded-video jobs one at a time (the model already uses both cores) and keeps their state."""

    def __init__(self, results_dir: Path, db: Path | None, model: str | None, model_variant: str | None) -> None:
        self.results_dir, self.db = results_dir, db
        self.model, self.model_variant = model, model_variant
        self.jobs: dict[str, JobState] = {}
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="romcam-job")

    def new_job(self, kind: str, label: str) -> tuple[JobState, Path]:
        """A queued job and its (new) folder: the uploads go in its ``input`` subfolder."""
        job = JobState(uuid.uuid4().hex, kind, job_folder_name(kind, label))
        folder = self.results_dir / job.folder
        (folder / "input").mkdir(parents=True)
        with self._lock:
            self.jobs[job.job_id] = job
        return job, folder

    def forget(self, job_id: str, folder: Path) -> None:
        """Drop a job refused before it started, with its folder and uploads."""
        with self._lock:
            self.jobs.pop(job_id, None)
        shutil.rmtree(folder, ignore_errors=True)

    def get(self, job_id: str) -> JobState | None:
        with self._lock:
            return self.jobs.get(job_id)

    def submit_measure(self, job: JobState, config: MeasureConfig, keep_video: bool) -> None:
        self._submit(job, lambda: self._measure(job, config), Path(config.source).parent, keep_video)

    def submit_batch(self, job: JobState, config: BatchConfig, keep_video: bool) -> None:
        self._submit(job, lambda: self._batch(job, config), Path(config.inputs[0]), keep_video)

    def _submit(self, job: JobState, work: Any, uploads: Path, keep_video: bool) -> None:
        future = self._pool.submit(self._run, job, work, uploads, keep_video)
        with self._lock:
            self._futures[job.job_id] = future

    def running(self) -> JobState | None:
        """The job under way, if any."""
        with self._lock:
            return next((job for job in self.jobs.values() if job.state == "running"), None)

    def drop_queued(self) -> list[JobState]:
        """Take no more jobs and drop the queued ones with their folders (their uploads: nothing was measured from
        them, and a job that never ran keeps no uploaded video); the running one goes on (``wait``). Returns the
        dropped jobs."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            dropped = [self.jobs[job_id] for job_id, future in self._futures.items() if future.cancelled()]
        for job in dropped:
            job.state, job.message = "dropped", "the server stopped before this job started"
            shutil.rmtree(self.results_dir / job.folder, ignore_errors=True)
        return dropped

    def wait(self) -> None:
        """Wait until the running job has finished."""
        self._pool.shutdown(wait=True)

    def _run(self, job: JobState, work: Any, uploads: Path, keep_video: bool) -> None:
        job.state = "running"
        try:
            job.result = work()
            job.state, job.progress = "done", 1.0
        except RomcamError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - the page must hear why the job failed
            job.state, job.message = "failed", f"internal error: {exc!r}"
        finally:
            if not keep_video:
                shutil.rmtree(uploads, ignore_errors=True)
            folder = self.results_dir / job.folder
            job.files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    def _measure(self, job: JobState, config: MeasureConfig) -> dict[str, Any]:
        opened = live_source(config.source, False, self.model, self.model_variant, config.protocol.model_variant)
        with opened as (source, pose, model):
            counter = _FrameCounter(job, source.info.frame_count_header)
            measurement = measure_over(config, source, cast(PoseEstimator, pose), model, counter)
        note = measurement["model"].get("note", "")
        job.message = " · ".join(m for m in (measurement.get("history_error", ""), note and f"pose model: {note}") if m)
        return measurement

    def _batch(self, job: JobState, config: BatchConfig) -> dict[str, Any]:
        def progress(done: int, total: int) -> None:
            job.progress = min(0.99, done / max(total, 1))

        report = run_batch(config, progress)
        job.message = f"{report.done} done, {report.failed} failed"
        return {"done": report.done, "failed": report.failed, "frames": report.frames}


def measure_config(
    protocol: Any, out_dir: Path, video: Path, sides: tuple[str, ...], patient: str | None, db: Path | None
) -> MeasureConfig:
    """``romcam measure`` of an uploaded video, as the command line runs it (offline, headless)."""
    return MeasureConfig(
        protocol=protocol, out_dir=out_dir, source=str(video), sides=sides, patient=patient, db=db, headless=True
    )


def batch_config(input_dir: Path, out_dir: Path, model: str | None, model_variant: str | None) -> BatchConfig:
    """``romcam batch`` of the uploaded videos with its defaults, on all cores (no annotated videos; .mot and
    .trc exports)."""
    analysis = AnalyzeConfig(
        out_dir=out_dir,
        model=model,
        model_variant=model_variant or DEFAULT_VARIANT,
        write_video=False,
        exports=("mot", "trc"),
    )
    return BatchConfig(inputs=(str(input_dir),), out_dir=out_dir, analysis=analysis)
