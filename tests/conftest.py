"""Shared fixtures: paths to the shared media and model, and the CLI runner."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ROMCAM_SHARED", ROOT.parent / "shared"))
MEDIA = SHARED / "media"
SHARED_MODEL = SHARED / "models" / "pose_landmarker_full.task"
SAMPLES = ROOT / "samples"


def require(path: Path) -> Path:
    """Fail (never skip) with a message saying how to get a missing resource."""
    if not path.exists():
        pytest.fail(
            f"{path} is missing: tests need ../shared beside the checkout (media and models), "
            "or ROMCAM_SHARED pointing at it"
        )
    return path


@pytest.fixture(scope="session")
def model_path() -> Path:
    return require(SHARED_MODEL)


@pytest.fixture(scope="session")
def media() -> Path:
    return require(MEDIA)


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``python -m romcam`` with the shared model, as a user would."""
    full_env = {**os.environ, "ROMCAM_MODEL": str(SHARED_MODEL), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "romcam", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def virtual_screen(size: str = "1280x800") -> Iterator[str]:
    """An Xvfb display for a real OpenCV window; yields its DISPLAY name."""
    for tool in ("Xvfb", "ffmpeg"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install xvfb ffmpeg (.ci/run installs them)")
    display = f":{100 + os.getpid() % 800}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        yield display
    finally:
        xvfb.terminate()
        xvfb.wait()


def grab_screen(display: str, path: Path, size: str = "1280x800") -> None:
    """A screenshot of the whole virtual screen as PNG (ffmpeg's x11grab)."""
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "x11grab",
            "-video_size",
            size,
            "-i",
            display,
            "-frames:v",
            "1",
            str(path),
        ],
        check=True,
        timeout=30,
    )
