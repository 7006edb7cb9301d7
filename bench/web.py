"""The browser app through a real browser: processed frames per second and capture-to-overlay latency.

Usage: python bench/web.py [VIDEO] [--seconds 20] [--fps 30 60] [--cpus 0,1]
Starts ``romcam serve`` (the full model), opens the exercise page in Debian's chromium with its webcam faked
from VIDEO at 640×480 and each --fps rate, and reads the page's own figures after --seconds: states drawn per
second, the latency from the camera's capture time to the drawn overlay (median, 95th percentile), and the frames
the server skipped because a newer one had arrived (it never queues), and the server's peak memory. --cpus pins
the server to those cores (``taskset``) to see how it behaves when it cannot keep up.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]


def camera_file(video: Path, fps: float, folder: Path) -> Path:
    """VIDEO as a 640×480 .y4m at ``fps`` (chromium's fake webcam plays it in a loop)."""
    out = folder / f"camera_{fps:g}.y4m"
    fit = "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2"
    command = ["ffmpeg", "-v", "error", "-y", "-i", str(video), "-vf", f"{fit},fps={fps}", "-pix_fmt", "yuv420p"]
    subprocess.run([*command, str(out)], check=True)
    return out


def start_server(folder: Path, cpus: str | None) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "romcam", "serve", "--no-browser", "--port", str(port), "--data", str(folder)]
    command += ["--db", str(folder / "history.sqlite")]
    if cpus:
        command = ["taskset", "-c", cpus, *command]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    found = re.search(r"http://\S+", proc.stdout.readline())
    if not found:
        proc.terminate()
        raise SystemExit("romcam serve printed no URL")
    return proc, found.group(0)


def peak_rss_mb(pid: int) -> float:
    """The peak resident memory of a process (and of the server under ``taskset``, its only child)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    target = int(kids[0]) if kids else pid
    for line in Path(f"/proc/{target}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(url: str, y4m: Path, seconds: float) -> dict[str, Any]:
    base = url.split("/?")[0]
    args = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=[*args, "--use-fake-ui-for-media-stream"]
        )
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.goto(url)
        page.goto(f"{base}/exercise?exercise=squat")
        page.wait_for_selector("#choice option", state="attached")
        page.click("#start")
        page.wait_for_function("window.romcamLink && window.romcamLink.processed > 0", timeout=60_000)
        page.evaluate("window.romcamLink.latencies = []")  # not the model's warm-up
        time.sleep(seconds)
        stats = page.evaluate("window.romcamLink.stats()")
        page.click("#stop")
        browser.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?", type=Path, default=ROOT / "samples" / "rendered_knee_trials_side_left.mp4")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 60.0])
    parser.add_argument("--cpus", help="pin the server to these cores (taskset -c)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; camera 640x480 from {args.video.name}; server cores: {args.cpus or 'all'}")
    print(
        f"{'camera fps':>10} {'drawn fps':>10} {'latency median':>15} {'p95':>8} {'skipped by server':>18}"
        f" {'server peak':>12}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for fps in args.fps:
            y4m = camera_file(args.video, fps, Path(tmp))
            proc, url = start_server(Path(tmp) / f"data_{fps:g}", args.cpus)
            try:
                s = measure(url, y4m, args.seconds)
                memory_mb = peak_rss_mb(proc.pid)
            finally:
                proc.terminate()
                proc.wait()
            print(
                f"{fps:>10.0f} {s['fps']:>10.1f} {s['latency_ms_median']:>12.0f} ms {s['latency_ms_p95']:>5.0f} ms "
                f"{s['server_skipped']:>18} {memory_mb:>9.0f} MB"
            )


if __name__ == "__main__":
    main()
