"""The browser app's server through Starlette's ASGI test client: the token gate, the host check, every
endpoint with good and bad input, and live sessions over the WebSocket with real frames and real inference."""

from __future__ import annotations

import contextlib
import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("starlette", reason="the browser app needs pip install '.[web]'")

from conftest import SAMPLES, read_frames, require  # noqa: E402
from starlette.testclient import TestClient, WebSocketDenialResponse  # noqa: E402
from starlette.websockets import WebSocketDisconnect  # noqa: E402

from romcam.history import History, MeasurementRow  # noqa: E402
from romcam.web import api  # noqa: E402
from romcam.web.server import ServeSettings, create_app  # noqa: E402

TOKEN = "test-token-0123456789"


@pytest.fixture
def settings(tmp_path: Path, model_path: Path) -> ServeSettings:
    return ServeSettings(
        data_dir=tmp_path / "data",
        db=tmp_path / "history.sqlite",
        token=TOKEN,
        model=str(model_path),
        hosts=("testserver",),
    )


@pytest.fixture
def client(settings: ServeSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://testserver") as c:
        yield c


def _authorised(client: TestClient) -> TestClient:
    assert client.get(f"/?token={TOKEN}").status_code == 200  # sets the cookie
    return client


def _store(db: Path, patient: str, protocol: str, side: str, peak: float, started_at: str) -> None:
    with History.open(db) as history:
        row = MeasurementRow(protocol, side, peak, peak - 1.0, 1.0, 3)
        history.add_session(patient, "measure", f"clip-{started_at}", {"started_at": started_at}, [row])


# --- the token and the host ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/exercise", "/static/style.css", "/api/catalog", "/api/patients"])
def test_every_request_without_the_token_is_refused(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 403
    assert client.get(f"{path}?token=wrong").status_code == 403
    assert client.get(path, headers={"X-Romcam-Token": "wrong"}).status_code == 403


def test_the_token_opens_the_page_and_its_cookie_carries_it(client: TestClient) -> None:
    first = client.get(f"/?token={TOKEN}")
    assert first.status_code == 200 and "romcam" in first.text
    assert "HttpOnly" in first.headers["set-cookie"] and "SameSite=Strict" in first.headers["set-cookie"]
    assert client.get("/static/common.js").status_code == 200  # the cookie now
    fresh = TestClient(client.app, base_url="http://testserver")
    assert fresh.get("/api/catalog", headers={"X-Romcam-Token": TOKEN}).status_code == 200


def test_a_websocket_without_the_token_is_refused(client: TestClient) -> None:
    with (
        pytest.raises((WebSocketDenialResponse, WebSocketDisconnect)),
        client.websocket_connect("/ws/exercise?exercise=squat") as ws,
    ):
        ws.receive_text()


def test_a_page_of_another_origin_is_refused_even_with_the_token(client: TestClient) -> None:
    assert client.get(f"/api/catalog?token={TOKEN}", headers={"origin": "http://testserver"}).status_code == 200
    assert client.get(f"/api/catalog?token={TOKEN}", headers={"origin": "http://evil.example"}).status_code == 403
    with (
        pytest.raises((WebSocketDenialResponse, WebSocketDisconnect)),
        client.websocket_connect(f"/ws/exercise?token={TOKEN}", headers={"origin": "http://evil.example"}) as ws,
    ):
        ws.receive_text()


def test_another_host_name_is_refused(client: TestClient) -> None:
    response = client.get(f"/?token={TOKEN}", headers={"host": "attacker.example"})
    assert response.status_code == 400


# --- catalog, patients, history ------------------------------------------------------------------------------


def test_catalog_lists_the_shipped_exercises_and_protocols(client: TestClient) -> None:
    from romcam.exercises import builtin_exercises
    from romcam.protocols import builtin_protocols

    data = _authorised(client).get("/api/catalog").json()
    assert [e["name"] for e in data["exercises"]] == list(builtin_exercises())
    assert [p["name"] for p in data["protocols"]] == list(builtin_protocols())


def test_patients_search_and_history_from_a_real_history_file(client: TestClient, settings: ServeSettings) -> None:
    assert settings.db is not None
    _store(settings.db, "P-001", "shoulder_abduction", "left", 120.0, "2026-01-05T09:00:00+00:00")
    _store(settings.db, "P-001", "knee_flexion", "left", 100.0, "2026-02-05T09:00:00+00:00")
    _store(settings.db, "Q-7", "knee_flexion", "right", 90.0, "2026-03-05T09:00:00+00:00")
    c = _authorised(client)
    assert [p["patient_id"] for p in c.get("/api/patients").json()["patients"]] == ["Q-7", "P-001"]
    found = c.get("/api/patients?q=p-0").json()["patients"]
    assert [(p["patient_id"], p["sessions"]) for p in found] == [("P-001", 2)]
    assert c.get("/api/patients?q=%25").json()["patients"] == []  # a LIKE wildcard is a character, not a pattern
    history = c.get("/api/patients/P-001/history").json()
    assert [(p["protocol"], p["peak_deg"]) for p in history["points"]] == [
        ("shoulder_abduction", 120.0),
        ("knee_flexion", 100.0),
    ]
    assert history["protocols"]["knee_flexion"]["change_deg"] > 0  # the MDC band the page and plot draw
    png = c.get("/api/patients/P-001/trend.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape[0] > 400  # two protocols: two panels stacked


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/patients/NOBODY/history", 404),
        ("/api/patients/NOBODY/trend.png", 404),
        ("/api/patients/%3Cscript%3E/history", 400),  # an ID that could carry markup is refused, not echoed
        ("/api/patients/a%2F..%2Fb/history", 404),
        ("/api/jobs/0123", 404),
        ("/results/x/../../history.sqlite", 404),
        ("/results/..%2F..%2Fhistory.sqlite/x", 404),
        ("/static/..%2Fserver.py", 404),
    ],
)
def test_unknown_or_malformed_requests(client: TestClient, settings: ServeSettings, path: str, status: int) -> None:
    assert settings.db is not None
    _store(settings.db, "P-001", "knee_flexion", "left", 100.0, "2026-02-05T09:00:00+00:00")
    response = _authorised(client).get(path)
    assert response.status_code == status, response.text
    assert "<script>" not in response.text


def test_result_files_are_served_but_never_an_uploaded_video(client: TestClient, settings: ServeSettings) -> None:
    folder = settings.data_dir / "results" / "20260101-000000_measure_P_abc123"
    (folder / "input").mkdir(parents=True)
    (folder / "report.html").write_text("<html>report</html>")
    (folder / "input" / "clip.mp4").write_bytes(b"video")
    c = _authorised(client)
    assert c.get(f"/results/{folder.name}/report.html").text == "<html>report</html>"
    assert c.get(f"/results/{folder.name}/input/clip.mp4").status_code == 404
    listed = c.get("/api/results").json()["results"]
    assert listed == [{"folder": folder.name, "kind": "batch", "report": True, "patient": None, "started_at": None}]
    other = settings.data_dir / "results" / "20260102-000000_measure_Q_def456"
    other.mkdir()
    (other / "measurement.json").write_text(json.dumps({"patient": "Q-7", "started_at": "2026-01-02T00:00:00+00:00"}))
    mine = c.get("/api/results?patient=Q-7").json()["results"]
    assert [(r["folder"], r["kind"], r["patient"]) for r in mine] == [(other.name, "measurement", "Q-7")]
    assert c.get("/api/results?patient=%3Cx%3E").status_code == 400


# --- uploads -----------------------------------------------------------------------------------------------


def test_uploads_are_checked_for_kind_type_and_size(
    client: TestClient, settings: ServeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = _authorised(client)
    files = {"video": ("notes.txt", b"not a video", "text/plain")}
    assert c.post("/api/jobs?kind=measure", files=files, data={"protocol": "knee_flexion"}).status_code == 415
    assert c.post("/api/jobs?kind=delete", files=files).status_code == 400
    assert c.post("/api/jobs?kind=measure&patient=%3Cb%3E", files=files).status_code == 400
    monkeypatch.setattr(api, "MAX_UPLOAD_BYTES", 1000)
    big = {"video": ("clip.mp4", b"\0" * 5000, "video/mp4")}
    assert c.post("/api/jobs?kind=batch", files=big).status_code == 413
    assert not any((settings.data_dir / "results").glob("*/input/*"))  # refused uploads are not kept


# --- live sessions over the WebSocket ---------------------------------------------------------------------


def _frame_message(bgr: np.ndarray, t_ms: float) -> bytes:
    return struct.pack("<d", t_ms) + cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def _until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(ws.receive_text())
        if message["type"] == kind:
            return message


def test_live_session_set_up_errors_are_clear(client: TestClient) -> None:
    c = _authorised(client)
    for query, start, words in [
        ("exercise=no_such_exercise", {"type": "start", "width": 640, "height": 480}, "unknown exercise"),
        ("exercise=squat&patient=%3Cx%3E", {"type": "start", "width": 640, "height": 480}, "patient ID"),
        ("exercise=squat", {"type": "start", "width": 99999, "height": 480}, "whole numbers"),
        ("exercise=squat", {"type": "hello"}, "first message"),
        ("protocol=no_such&side=left", {"type": "start", "width": 640, "height": 480}, "unknown protocol"),
    ]:
        path = "/ws/measure" if query.startswith("protocol") else "/ws/exercise"
        with c.websocket_connect(f"{path}?{query}") as ws:
            ws.send_text(json.dumps(start))
            message = json.loads(ws.receive_text())
            assert message["type"] == "error" and message["fatal"] and words in message["message"], message


def test_bad_frames_are_answered_and_the_session_goes_on(client: TestClient) -> None:
    frames = read_frames(require(SAMPLES / "rendered_knee_trials_side_left.mp4"), limit=3)
    h, w = frames[0].shape[:2]
    with _authorised(client).websocket_connect("/ws/exercise?exercise=squat") as ws:
        ws.send_text(json.dumps({"type": "start", "width": w, "height": h}))
        ws.send_bytes(_frame_message(frames[0], 0.0))
        assert _until(ws, "state")["reps_total"] == 0
        for bad, words in [
            (b"\x00" * 20, "JPEG"),
            (struct.pack("<d", 10.0) + b"\xff\xd8" + b"\0" * (2_000_001), "larger than"),
            (_frame_message(frames[1], 0.0), "not after"),
            (struct.pack("<d", float("nan")) + b"\xff\xd8\xff", "not a time"),
        ]:
            ws.send_bytes(bad)
            message = _until(ws, "error")
            assert not message["fatal"] and words in message["message"], message
        ws.send_text("{not json")
        assert "JSON" in _until(ws, "error")["message"]
        ws.send_text(json.dumps({"type": "start", "width": w, "height": h}))
        assert "unknown control message 'start'" in _until(ws, "error")["message"]
        ws.send_bytes(_frame_message(frames[2], 66.7))
        assert _until(ws, "state")["t_ms"] == pytest.approx(66.7)
        ws.send_text(json.dumps({"type": "stop"}))
        saved = _until(ws, "saved")
    assert saved["record"]["frames"]["count"] == 2


@pytest.mark.slow
def test_live_exercise_over_the_websocket_counts_as_romcam_exercise(
    client: TestClient, settings: ServeSettings, tmp_path: Path
) -> None:
    from romcam.app.exercise import ExerciseConfig, run_exercise
    from romcam.exercises import single_exercise_program

    clip = require(SAMPLES / "rendered_knee_trials_side_left.mp4")
    frames = read_frames(clip)
    h, w = frames[0].shape[:2]
    with _authorised(client).websocket_connect("/ws/exercise?exercise=squat&patient=P-web") as ws:
        ws.send_text(json.dumps({"type": "start", "width": w, "height": h}))
        for i, bgr in enumerate(frames):
            ws.send_bytes(_frame_message(bgr, i * 1000 / 30))
            state = _until(ws, "state")
            assert state["t_ms"] == pytest.approx(i * 1000 / 30)  # one frame in flight: none dropped
        ws.send_text(json.dumps({"type": "stop"}))
        saved = _until(ws, "saved")["record"]
    cli = run_exercise(
        ExerciseConfig(
            program=single_exercise_program("squat"), out_dir=tmp_path / "cli", source=str(clip), headless=True
        )
    )
    web_peaks = [r["peak_deg"] for r in saved["exercises"][0]["rep_details"]]
    cli_peaks = [r["peak_deg"] for r in cli["exercises"][0]["rep_details"]]
    assert len(web_peaks) == len(cli_peaks) == 3
    assert np.allclose(web_peaks, cli_peaks, atol=1.5)  # JPEG frames against the decoded video
    stored = settings.data_dir / "results" / saved["folder"] / "session.json"
    assert json.loads(stored.read_text())["exercises"][0]["reps"] == 3  # saved exactly as romcam exercise saves it
    assert settings.db is not None
    with History.open(settings.db) as history:
        assert [p.patient_id for p in history.patients()] == ["P-web"]


# --- romcam serve as a user starts it ----------------------------------------------------------------------


def _free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_refuses_a_bad_or_busy_port_in_one_line(tmp_path: Path) -> None:
    import socket

    from conftest import run_cli

    bad = run_cli("serve", "--no-browser", "--port", "70000", "--data", str(tmp_path))
    assert bad.returncode == 2 and "--port" in bad.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = run_cli("serve", "--no-browser", "--port", str(port), "--data", str(tmp_path))
    assert taken.returncode == 1
    assert taken.stderr.strip().count("\n") == 0 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr


def test_serve_warns_when_it_listens_beyond_this_machine(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from conftest import OUTSIDE

    from romcam.web.serve import allowed_hosts, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")
    assert allowed_hosts("127.0.0.1") == ("127.0.0.1", "localhost", "::1")
    assert allowed_hosts("192.168.1.20")[-1] == "192.168.1.20"
    port = _free_port()
    command = [sys.executable, "-m", "romcam", "serve", "--no-browser", "--host", "0.0.0.0", "--port", str(port)]
    proc = subprocess.Popen(
        [*command, "--data", str(tmp_path)], cwd=OUTSIDE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/?token=" in url
    assert "warning: serving on 0.0.0.0: other machines on the network can reach this server" in err


@pytest.mark.slow
def test_a_batch_of_uploaded_videos_gives_the_summary_table_and_exports(
    client: TestClient, settings: ServeSettings
) -> None:
    import time

    clip = require(SAMPLES / "rendered_front.mp4")
    c = _authorised(client)
    files = [
        ("videos", ("front one.mp4", clip.read_bytes(), "video/mp4")),
        ("videos", ("b.mp4", b"\0" * 100, "video/mp4")),
    ]
    job = c.post("/api/jobs?kind=batch", files=files).json()
    deadline = time.monotonic() + 300
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.5)
        job = c.get(f"/api/jobs/{job['job_id']}").json()
    assert job["state"] == "done", job
    assert job["message"] == "1 done, 1 failed"  # the broken file fails alone, with its reason in failures.csv
    assert "summary.csv" in job["files"] and "failures.csv" in job["files"]
    assert any(f.endswith(".mot") for f in job["files"]) and any(f.endswith(".trc") for f in job["files"])
    assert not any(f.startswith("input/") for f in job["files"])  # uploads deleted when the job ends
    summary = c.get(f"/results/{job['folder']}/summary.csv").text.splitlines()
    assert summary[0].startswith("video,output,angle,min_deg,max_deg")
    assert any(",left_shoulder_abduction," in row for row in summary[1:])


def test_the_exercise_state_speaks_in_angles_for_an_exercise_on_the_negative_angle(tmp_path: Path) -> None:
    """Seated knee extension counts on -knee flexion: the page still shows the knee's own angles (peak 8, target
    10) and a gauge whose goal zone starts at the target value."""
    from fk import side_view

    from romcam.app.exercise import ExerciseConfig, ExerciseSession
    from romcam.exercises import single_exercise_program
    from romcam.types import PoseFrame
    from romcam.web.live import exercise_state

    program = single_exercise_program("seated_knee_extension", "right")
    session = ExerciseSession(ExerciseConfig(program=program, out_dir=tmp_path, headless=True))
    session.frame_size_px = (1000, 1000)
    knee = np.r_[np.full(30, 90.0), np.linspace(90, 8, 30), np.full(60, 8.0), np.linspace(8, 90, 30), np.full(30, 90.0)]
    shown: dict[str, Any] = {}
    for i, k in enumerate(knee):
        xy = side_view(facing=1, hip_flexion=(90.0, 90.0), knee_flexion=(90.0, float(k)))
        shown = session.step(PoseFrame(xy, np.zeros((33, 3)), np.ones(33)), i / 30)
    state = exercise_state(session, shown, 1234.0)
    assert state["reps_total"] == 1 and state["side"] == "right"
    assert state["last_peak_deg"] == pytest.approx(8.0, abs=2.0)  # the knee's angle, not its negative
    assert state["target_deg"] == 10.0 and state["angle_deg"] == pytest.approx(90.0, abs=2.0)
    gauge = state["gauge"]
    assert gauge["bottom"] < -60 < gauge["target"] == -10 < gauge["top"] and gauge["direction"] == -1
    assert state["landmarks"][26] == [pytest.approx(v, abs=1e-3) for v in xy[26] / 1000]  # right knee, as fractions


def test_an_uploaded_abduction_measures_with_the_full_model_standing_in_for_heavy(
    tmp_path: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user without internet whose cache holds only the full model: the protocol prefers heavy, the full
    model measures, and the job and its measurement say so."""
    import shutil
    import time

    from romcam.pose import models

    (tmp_path / "cache" / "models").mkdir(parents=True)
    shutil.copy(model_path, tmp_path / "cache" / "models" / "pose_landmarker_full.task")
    monkeypatch.delenv(models.ENV_MODEL, raising=False)
    monkeypatch.setenv(models.ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(models.ENV_BASE_URL, "http://127.0.0.1:9")
    monkeypatch.setattr(models, "_UNAVAILABLE", {})
    settings = ServeSettings(data_dir=tmp_path / "data", db=tmp_path / "h.sqlite", token=TOKEN, hosts=("testserver",))
    clip = require(SAMPLES / "rendered_abduction_trials_front.mp4")
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        c = _authorised(client)
        files = {"video": ("abduction.mp4", clip.read_bytes(), "video/mp4")}
        data = {"protocol": "shoulder_abduction", "side": "both"}
        job = c.post("/api/jobs?kind=measure", files=files, data=data).json()
        deadline = time.monotonic() + 300
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.5)
            job = c.get(f"/api/jobs/{job['job_id']}").json()
    assert job["state"] == "done", job
    assert job["message"].startswith("pose model: the heavy model this measurement prefers could not be had")
    measured = json.loads((settings.data_dir / "results" / job["folder"] / "measurement.json").read_text())
    assert measured["model"]["variant"] == "full" and measured["model"]["note"] in job["message"]
    assert all(r["peak_deg"] is not None for r in measured["results"])


def test_ctrl_c_on_serve_lets_a_running_live_session_save_first(tmp_path: Path) -> None:
    """``romcam serve`` stopped with Ctrl-C while a page's exercise session runs: the server waits until the
    session has written its record and history row, then exits 0."""
    import asyncio
    import os
    import signal
    import subprocess
    import sys
    from urllib.parse import parse_qs, urlparse

    import websockets
    from conftest import OUTSIDE, resolved_model

    frames = read_frames(require(SAMPLES / "rendered_knee_trials_side_left.mp4"), limit=30)
    h, w = frames[0].shape[:2]
    port = _free_port()
    db, data = tmp_path / "history.sqlite", tmp_path / "data"
    command = [sys.executable, "-m", "romcam", "serve", "--no-browser", "--port", str(port), "--db", str(db)]
    proc = subprocess.Popen(
        [*command, "--data", str(data)], cwd=OUTSIDE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ROMCAM_MODEL": str(resolved_model())}, start_new_session=True,
    )  # fmt: skip
    assert proc.stdout is not None
    token = parse_qs(urlparse(proc.stdout.readline().strip()).query)["token"][0]  # printed before it listens

    async def session_then_ctrl_c() -> None:
        url = f"ws://127.0.0.1:{port}/ws/exercise?exercise=squat&patient=P-stop&token={token}"
        for _ in range(300):
            with contextlib.suppress(OSError):
                ws = await websockets.connect(url)
                break
            await asyncio.sleep(0.1)
        async with ws:
            await ws.send(json.dumps({"type": "start", "width": w, "height": h}))
            for i, bgr in enumerate(frames):
                await ws.send(_frame_message(bgr, i * 1000 / 30))
                while json.loads(await ws.recv())["type"] != "state":
                    pass
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal that runs the server
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    await ws.recv()

    try:
        asyncio.run(session_then_ctrl_c())
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    (saved,) = (data / "results").glob("*/session.json")
    assert json.loads(saved.read_text())["frames"]["count"] == len(frames)
    with History.open(db) as history:
        assert [p.patient_id for p in history.patients()] == ["P-stop"]


def test_ctrl_c_on_serve_finishes_the_running_upload_job_and_drops_the_queued_ones(tmp_path: Path) -> None:
    """Two uploaded measurements, Ctrl-C while the first runs: the first is measured and saved, the second never
    runs and its uploaded video is deleted with its folder, each said in a line; the server exits 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx2 as httpx
    from conftest import OUTSIDE, resolved_model

    clip = require(SAMPLES / "rendered_knee_trials_side_left.mp4")
    port, data = _free_port(), tmp_path / "data"
    command = [sys.executable, "-m", "romcam", "serve", "--no-browser", "--port", str(port), "--data", str(data)]
    proc = subprocess.Popen(
        [*command, "--db", str(tmp_path / "h")], cwd=OUTSIDE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ROMCAM_MODEL": str(resolved_model())}, start_new_session=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split("open ", 1)[1].strip()  # printed before it listens
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    c.get(url).raise_for_status()  # the token's cookie
                    break
                time.sleep(0.1)
            files = {"video": ("knee.mp4", clip.read_bytes(), "video/mp4")}
            form = {"protocol": "knee_flexion", "side": "left"}
            first, second = (c.post("/api/jobs?kind=measure", files=files, data=form).json() for _ in range(2))
            while c.get(f"/api/jobs/{first['job_id']}").json()["state"] == "queued":
                time.sleep(0.05)
            assert c.get(f"/api/jobs/{second['job_id']}").json()["state"] == "queued"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal that runs the server
        _, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert (data / "results" / first["folder"] / "measurement.json").is_file()
    assert not (data / "results" / first["folder"] / "input").exists()  # its upload deleted when it ended
    assert not (data / "results" / second["folder"]).exists()
    assert f"romcam: stopping: queued job {second['folder']} dropped, its uploaded videos deleted" in err
    assert f"romcam: stopping: waiting for the running job {first['folder']} to finish" in err
