"""The browser app in a real browser: ``romcam serve`` as a user starts it, Debian's chromium driven by
Playwright, the webcam faked from a rendered sample (a .y4m file). What the page counts and stores is compared
with the command line on the same frames; the screenshots are kept in the test's folder to be looked at."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import OUTSIDE, SAMPLES, require, require_tool, resolved_model, run_cli

pytestmark = pytest.mark.slow
pytest.importorskip("starlette", reason="the browser app needs pip install '.[web]'")
playwright = pytest.importorskip("playwright.sync_api", reason="the browser tests need pip install playwright")

HOLD_S = 4.0  # the last picture is held this long after the clip, so stopping any time in it sees the whole clip


@dataclass(frozen=True)
class Server:
    url: str  # with the token
    base: str
    data: Path
    db: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``romcam serve`` started as a user starts it (from a folder outside the checkout), on a free port."""
    folder = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "ROMCAM_MODEL": str(resolved_model())}
    command = [sys.executable, "-m", "romcam", "serve", "--no-browser", "--port", str(_free_port())]
    command += ["--data", str(folder / "data"), "--db", str(folder / "history.sqlite")]
    proc = subprocess.Popen(command, cwd=OUTSIDE, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert found, f"no URL printed: {line!r}"
        yield Server(found.group(0), found.group(1), folder / "data", folder / "history.sqlite")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def fake_webcam(clip: Path, folder: Path) -> Path:
    """``clip`` as a 640×480 .y4m (scaled into the frame, never cropped) with its last picture held ``HOLD_S``."""
    require_tool("ffmpeg", "chromium")
    out = folder / f"{clip.stem}.y4m"
    fit = "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2"
    pad = f"{fit},tpad=stop_mode=clone:stop_duration={HOLD_S}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(clip), "-vf", pad, "-pix_fmt", "yuv420p", str(out)], check=True
    )
    return out


@contextlib.contextmanager
def browser_page(y4m: Path) -> Iterator[Any]:
    """A chromium page whose webcam plays ``y4m`` (from its start when the page asks for the camera)."""
    chromium = shutil.which("chromium")
    assert chromium is not None
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={y4m}",
                "--use-fake-ui-for-media-stream",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield browser.new_page(viewport={"width": 1366, "height": 768})
        finally:
            browser.close()


def _clip_seconds(y4m: Path) -> float:
    import cv2

    cap = cv2.VideoCapture(str(y4m))
    seconds = cap.get(cv2.CAP_PROP_FRAME_COUNT) / (cap.get(cv2.CAP_PROP_FPS) or 30.0)
    cap.release()
    return float(seconds)


def _run_live_page(page: Any, y4m: Path, shot: Path, stop_button: str) -> dict[str, Any]:
    """Start the page's session, let the whole clip play (stopping inside the held last picture), stop, and
    return the saved record and the page's frame statistics."""
    page.click("#start")
    page.wait_for_function("window.romcamLink && window.romcamLink.processed > 0", timeout=60_000)
    started = time.monotonic()
    play_s = _clip_seconds(y4m) - HOLD_S / 2  # the first state comes a little after the camera started
    time.sleep(play_s * 0.45)
    page.screenshot(path=str(shot))
    time.sleep(max(0.0, play_s - (time.monotonic() - started)))
    stats = page.evaluate("window.romcamLink.stats()")
    page.click(stop_button)
    page.wait_for_function("window.romcamResult !== undefined", timeout=120_000)
    page.screenshot(path=str(shot.with_name(shot.stem + "_end.png")))
    return {"record": page.evaluate("window.romcamResult"), "stats": stats}


def test_exercise_page_counts_the_reps_romcam_exercise_counts(server: Server, tmp_path: Path) -> None:
    y4m = fake_webcam(require(SAMPLES / "rendered_knee_trials_side_left.mp4"), tmp_path)
    cli = run_cli("exercise", "--exercise", "squat", "--source", str(y4m), "--out", str(tmp_path / "cli"), "--headless")
    assert cli.returncode == 0, cli.stderr
    expected = json.loads((tmp_path / "cli" / "session.json").read_text())["exercises"][0]
    with browser_page(y4m) as page:
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(server.url)
        page.goto(f"{server.base}/exercise?exercise=squat&patient=P-browser")
        page.wait_for_selector("#choice option", state="attached")
        run = _run_live_page(page, y4m, tmp_path / "exercise_page.png", "#stop")
        shown_reps = page.inner_text("#summary-rows td:nth-child(2)")
    got = run["record"]["exercises"][0]
    outside = [u for u in requested if not u.startswith((server.base, "data:", "blob:"))]
    assert requested and not outside  # nothing is fetched from outside this machine
    print("browser:", run["stats"], [r["peak_deg"] for r in got["rep_details"]])
    assert got["reps"] == expected["reps"] == 3
    assert int(shown_reps) == 3
    peaks = [r["peak_deg"] for r in got["rep_details"]]
    assert all(abs(a - b) <= 3.0 for a, b in zip(peaks, [r["peak_deg"] for r in expected["rep_details"]], strict=True))
    saved = server.data / "results" / run["record"]["folder"] / "session.json"
    assert json.loads(saved.read_text())["exercises"][0]["reps"] == 3
    assert run["stats"]["processed"] > 0.8 * 30 * (_clip_seconds(y4m) - HOLD_S)  # close to every camera picture


def test_measure_page_stores_the_peak_romcam_measure_finds(server: Server, tmp_path: Path) -> None:
    y4m = fake_webcam(require(SAMPLES / "rendered_knee_trials_side_left.mp4"), tmp_path)
    out = tmp_path / "cli"
    cli = run_cli(
        "measure", "--protocol", "knee_flexion", "--side", "left", "--mode", "live", "--source", str(y4m),
        "--out", str(out), "--headless",
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    expected = json.loads((out / "measurement.json").read_text())["results"][0]["peak_deg"]
    with browser_page(y4m) as page:
        page.goto(server.url)
        page.goto(f"{server.base}/measure?protocol=knee_flexion&side=left&patient=P-measure")
        page.wait_for_selector("#protocol option", state="attached")
        run = _run_live_page(page, y4m, tmp_path / "measure_page.png", "#finish")
        history = page.evaluate("romcam.api('/api/patients/P-measure/history')")
        report = page.request.get(f"{server.base}/results/{run['record']['folder']}/report.html")
        report_status, report_text = report.status, report.text()
    [point] = history["points"]
    print("browser:", run["stats"], point["peak_deg"], "cli:", expected)
    assert point["peak_deg"] == pytest.approx(expected, abs=1.0)
    assert report_status == 200 and "Knee flexion" in report_text


def test_therapist_pages_show_history_and_measure_an_uploaded_video(server: Server, tmp_path: Path) -> None:
    clip = require(SAMPLES / "rendered_knee_trials_side_left.mp4")
    cli = run_cli(
        "measure", "--protocol", "knee_flexion", "--side", "left", "--source", str(clip),
        "--out", str(tmp_path / "cli"), "--headless",
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    expected = json.loads((tmp_path / "cli" / "measurement.json").read_text())["results"][0]["peak_deg"]
    with browser_page(fake_webcam(clip, tmp_path)) as page:
        page.goto(server.url)
        page.goto(f"{server.base}/therapist")
        page.fill("#measure-form input[name=patient]", "P-upload")
        page.select_option("#protocol", "knee_flexion")
        page.select_option("#measure-form select[name=side]", "left")
        page.set_input_files("#measure-form input[name=video]", str(clip))
        page.click("#measure-form button[type=submit]")
        page.wait_for_function("window.romcamJob !== undefined", timeout=180_000)
        job = page.evaluate("window.romcamJob")
        assert job["state"] == "done", job
        assert not any("input/" in f for f in job["files"])  # the uploaded video is not kept
        measured = json.loads((server.data / "results" / job["folder"] / "measurement.json").read_text())
        assert measured["results"][0]["peak_deg"] == pytest.approx(expected, abs=0.01)  # the same offline pass
        page.screenshot(path=str(tmp_path / "therapist_page.png"), full_page=True)
        page.click("text=P-upload")
        page.wait_for_function("document.querySelectorAll('#rows tr').length > 0")
        page.wait_for_function("document.getElementById('trend').naturalWidth > 0")
        assert "Knee flexion" in page.inner_text("#rows")
        page.wait_for_function("document.querySelectorAll('#results a').length > 0")
        assert page.get_attribute("#results a", "href") == f"/results/{job['folder']}/report.html"
        page.screenshot(path=str(tmp_path / "patient_page.png"), full_page=True)
