"""The browser app's JSON API and live-session set-up: thin adapters from requests to the use cases and the
history. Every handler is ``async (settings, request) -> data``; blocking work runs in a thread."""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from romcam.app.exercise import ExerciseConfig
from romcam.app.measure import MeasureConfig
from romcam.capture.source import VIDEO_SUFFIXES
from romcam.errors import RomcamError
from romcam.exercises import builtin_exercises, load_program, single_exercise_program
from romcam.history import History
from romcam.protocols import builtin_protocols, get_protocol
from romcam.rules.accuracy import GRADE_P95_DEG
from romcam.web.camera import MAX_FRAME_SIDE_PX, BrowserCamera
from romcam.web.jobs import batch_config, job_folder_name, measure_config

if TYPE_CHECKING:
    from romcam.web.server import ServeSettings

PATIENT_ID = re.compile(r"^[\w.\- ]{1,64}$")
"""A patient ID: 1–64 letters, digits, spaces, '.', '-' or '_' (it names folders and appears in pages)."""
NAME = re.compile(r"^[a-z0-9_]{1,64}$")
"""A program, exercise or protocol name."""
MAX_UPLOAD_BYTES = 2_000_000_000
"""The largest upload accepted (all files of one request together)."""
MAX_UPLOAD_FILES = 50
BROWSER_SOURCE = "the browser's camera"
"""How a live page's source is named in messages and saved records."""


class ApiError(RomcamError):
    """A request the API refuses, with its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def patient_id(value: str | None, required: bool = False) -> str | None:
    """A checked patient ID (None when absent and not ``required``); ``ApiError`` 400 when malformed."""
    value = (value or "").strip()
    if not value:
        if required:
            raise ApiError("a patient ID is needed")
        return None
    if not PATIENT_ID.match(value):
        raise ApiError("a patient ID is 1-64 letters, digits, spaces, '.', '-' or '_'")
    return value


def _name(value: str | None, what: str) -> str:
    if not value or not NAME.match(value):
        raise ApiError(f"give a {what} name (lower-case letters, digits and '_')")
    return value


def programs_in(data_dir: Path) -> dict[str, Path]:
    """The therapist's program files: ``DATA/programs/NAME.toml``, by name."""
    folder = data_dir / "programs"
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if NAME.match(p.stem)} if folder.is_dir() else {}


async def catalog(settings: ServeSettings, request: Request) -> dict[str, Any]:
    """The exercises, programs and measurement protocols a page can start."""
    exercises = [
        {"name": n, "title": e.title, "view": e.view, "side": e.side, "target_deg": e.target_deg}
        for n, e in builtin_exercises().items()
    ]
    programs = []
    for name, path in programs_in(settings.data_dir).items():
        try:
            programs.append({"name": name, "title": load_program(path).title})
        except RomcamError as exc:
            programs.append({"name": name, "title": name, "error": str(exc)})
    protocols = [
        {"name": n, "title": p.title, "view": p.view, "trials": p.trials, "normal_deg": p.normal_deg}
        for n, p in builtin_protocols().items()
    ]
    grades = {grade: p95 for p95, grade in GRADE_P95_DEG}
    return {"exercises": exercises, "programs": programs, "protocols": protocols, "grade_p95_deg": grades}


def _history(settings: ServeSettings) -> History:
    return History.open(settings.db)


async def patients(settings: ServeSettings, request: Request) -> dict[str, Any]:
    """Patients whose ID contains ``?q=``, most recently seen first."""
    query = request.query_params.get("q", "")[:64]

    def read() -> list[dict[str, Any]]:
        with _history(settings) as history:
            return [asdict(p) for p in history.patients(query)]

    return {"patients": await run_in_threadpool(read)}


def _known_patient(request: Request) -> str:
    pid = patient_id(request.path_params["patient"], required=True)
    assert pid is not None
    return pid


async def _points(settings: ServeSettings, pid: str, protocol: str | None) -> list[Any]:
    def read() -> list[Any]:
        with _history(settings) as history:
            if pid not in {p.patient_id for p in history.patients(pid)}:
                raise ApiError(f"no patient {pid!r} in the history", 404)
            return history.points(pid, protocol)

    return await run_in_threadpool(read)


async def patient_history(settings: ServeSettings, request: Request) -> dict[str, Any]:
    """A patient's measurements in time order, with each protocol's normal value and minimal detectable change."""
    pid = _known_patient(request)
    points = await _points(settings, pid, None)
    protocols = builtin_protocols()
    used = sorted({p.protocol for p in points})
    refs = {
        n: {"title": protocols[n].title, "normal_deg": protocols[n].normal_deg, "change_deg": protocols[n].change_deg}
        for n in used
        if n in protocols
    }
    return {"patient": pid, "points": [asdict(p) for p in points], "protocols": refs}


async def patient_trend(settings: ServeSettings, request: Request) -> Response:
    """The trend plot (PNG): one panel per protocol with the normal value and the minimal-detectable-change band."""
    from romcam.output.plot import history_png, protocol_references

    pid = _known_patient(request)
    protocol = request.query_params.get("protocol")
    points = await _points(settings, pid, _name(protocol, "protocol") if protocol else None)
    png = await run_in_threadpool(history_png, points, protocol_references(), f"patient {pid}")
    if png is None:
        raise ApiError(f"patient {pid!r} has no measured value to plot", 404)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def _results_root(settings: ServeSettings) -> Path:
    return settings.data_dir / "results"


def _result_entry(folder: Path) -> dict[str, Any]:
    """One saved result: its kind, whether it has a report, and its patient and start (from its JSON)."""
    files = {p.name for p in folder.iterdir() if p.is_file()}
    kind = "measurement" if "measurement.json" in files else "session" if "session.json" in files else "batch"
    record: dict[str, Any] = {}
    if kind != "batch":
        try:
            record = json.loads((folder / f"{kind if kind == 'session' else 'measurement'}.json").read_text())
        except (OSError, ValueError):
            record = {}
    return {
        "folder": folder.name,
        "kind": kind,
        "report": "report.html" in files,
        "patient": record.get("patient"),
        "started_at": record.get("started_at"),
    }


async def results(settings: ServeSettings, request: Request) -> dict[str, Any]:
    """The saved result folders (newest first) with what each holds; ``?patient=ID`` keeps that patient's."""
    root = _results_root(settings)
    wanted = patient_id(request.query_params.get("patient"))
    folders = sorted((f for f in root.iterdir() if f.is_dir()), reverse=True) if root.is_dir() else []
    entries = await run_in_threadpool(lambda: [_result_entry(f) for f in folders])
    return {"results": [e for e in entries if wanted is None or e["patient"] == wanted]}


async def result_file(settings: ServeSettings, request: Request) -> Response:
    """A file of a result folder (the report, its images, tables and exports); never outside the folder."""
    root = _results_root(settings).resolve()
    folder = (root / request.path_params["folder"]).resolve()
    path = (folder / request.path_params["name"]).resolve()
    if folder.parent != root or folder not in path.parents or not path.is_file():
        raise ApiError("no such result file", 404)
    if "input" in path.relative_to(folder).parts:
        raise ApiError("uploaded videos are not served back", 404)
    return FileResponse(path, headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def live_config(settings: ServeSettings, kind: str, query: dict[str, str]) -> ExerciseConfig | MeasureConfig:
    """The use case's config for a live page: ``exercise`` (``exercise=NAME`` [``side``] or ``program=NAME``) or
    ``measure`` (``protocol=NAME``, ``side`` left/right/both), with an optional ``patient``; saved into a new
    result folder."""
    patient = patient_id(query.get("patient"))
    side = query.get("side") or None
    if side not in (None, "left", "right", "both"):
        raise ApiError("side is left, right or both")
    if kind == "measure":
        protocol = get_protocol(_name(query.get("protocol"), "protocol"))
        out = _results_root(settings) / job_folder_name("measure", patient or "anonymous")
        sides = ("left", "right") if side in (None, "both") else (side,)
        return MeasureConfig(
            protocol=protocol, out_dir=out, source=BROWSER_SOURCE, sides=sides, patient=patient, db=settings.db
        )
    if query.get("program"):
        path = programs_in(settings.data_dir).get(_name(query["program"], "program"))
        if path is None:
            raise ApiError(f"no program {query['program']!r} in {settings.data_dir / 'programs'}", 404)
        program = load_program(path)
    else:
        program = single_exercise_program(_name(query.get("exercise"), "exercise"), side)
    out = _results_root(settings) / job_folder_name("exercise", patient or "anonymous")
    return ExerciseConfig(
        program=program, out_dir=out, source=BROWSER_SOURCE, patient=patient, db=settings.db, headless=True
    )


def browser_camera(start: dict[str, Any]) -> BrowserCamera:
    """The frame source of a ``{"type": "start", "width": W, "height": H}`` message."""
    if start.get("type") != "start":
        raise ApiError("the first message is {'type': 'start', 'width': W, 'height': H}")
    width, height = start.get("width"), start.get("height")
    if not all(isinstance(v, int) and 16 <= v <= MAX_FRAME_SIDE_PX for v in (width, height)):
        raise ApiError(f"frame width and height are whole numbers from 16 to {MAX_FRAME_SIDE_PX}")
    return BrowserCamera(int(width), int(height))  # type: ignore[arg-type]


async def _save_upload(upload: Any, folder: Path, total_bytes: int) -> tuple[Path, int]:
    """One uploaded video saved into ``folder``; returns its path and the request's bytes so far."""
    name = Path(upload.filename or "").name
    if Path(name).suffix.lower() not in VIDEO_SUFFIXES:
        raise ApiError(f"{name or 'the file'}: not a video ({', '.join(sorted(VIDEO_SUFFIXES))})", 415)
    target = folder / "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    with target.open("wb") as out:
        while chunk := await upload.read(1 << 20):
            total_bytes += len(chunk)
            if total_bytes > MAX_UPLOAD_BYTES:
                raise ApiError(f"upload larger than {MAX_UPLOAD_BYTES} bytes", 413)
            out.write(chunk)
    return target, total_bytes


async def _save_uploads(request: Request, folder: Path) -> tuple[list[Path], dict[str, str]]:
    """The uploaded videos (saved into ``folder``) and the form's text fields; size and type checked."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_UPLOAD_BYTES:
        raise ApiError(f"upload of {declared} bytes is larger than {MAX_UPLOAD_BYTES}", 413)
    form = await request.form(max_files=MAX_UPLOAD_FILES, max_fields=20)
    saved, fields, total = [], {}, 0
    for key, value in form.multi_items():
        if isinstance(value, str):
            fields[key] = value
        else:
            path, total = await _save_upload(value, folder, total)
            saved.append(path)
    if not saved:
        raise ApiError("no video in the upload")
    return saved, fields


async def start_job(settings: ServeSettings, request: Request) -> dict[str, Any]:
    """``POST /api/jobs`` (multipart): ``kind`` = measure (one video, ``protocol``, ``side``, ``patient``) or batch
    (videos); ``keep_video`` = "1" keeps the uploads in the result folder. Returns the job to poll."""
    runner = request.app.state.jobs
    kind = request.query_params.get("kind", "")
    if kind not in ("measure", "batch"):
        raise ApiError("kind is measure or batch")
    patient = patient_id(request.query_params.get("patient"))
    job, folder = runner.new_job(kind, patient or "upload")
    try:
        videos, fields = await _save_uploads(request, folder / "input")
        keep = fields.get("keep_video") == "1"
        if kind == "measure":
            protocol = get_protocol(_name(fields.get("protocol"), "protocol"))
            side = fields.get("side") or "both"
            sides = ("left", "right") if side == "both" else (side,)
            if len(videos) != 1 or side not in ("left", "right", "both"):
                raise ApiError("a measurement takes one video and side left, right or both")
            runner.submit_measure(job, measure_config(protocol, folder, videos[0], sides, patient, settings.db), keep)
        else:
            runner.submit_batch(
                job, batch_config(folder / "input", folder, settings.model, settings.model_variant), keep
            )
    except RomcamError:
        runner.forget(job.job_id, folder)
        raise
    return asdict(job)


async def job_status(settings: ServeSettings, request: Request) -> dict[str, Any]:
    job = request.app.state.jobs.get(request.path_params["job"])
    if job is None:
        raise ApiError("no such job", 404)
    return asdict(job)
