"""Shared fixtures: the test clips, the model resolved as users resolve it, the CLI runner, a virtual screen.

The suite tests romcam as installed (``pip install ".[dev]"``), never the checkout's source tree: the checkout
is taken off ``sys.path`` before anything imports romcam, and the CLI runs from a folder outside the checkout.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
# ``python -m pytest`` puts the current folder first on sys.path: drop the checkout so that ``import romcam``
# finds the installed package (an editable install still maps to the tree, by its own import hook).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT]
try:
    import romcam  # noqa: F401
except ImportError:  # pragma: no cover - a set-up problem, reported once
    pytest.exit('romcam is not installed: run pip install ".[dev]" in the checkout first', returncode=4)

DATA = ROOT / "tests" / "data"  # small licensed copies of real clips (see tests/data/README.md)
SHARED = Path(os.environ.get("ROMCAM_SHARED", ROOT.parent / "shared"))
MEDIA = SHARED / "media"
SAMPLES = ROOT / "samples"
OUTSIDE = Path(tempfile.mkdtemp(prefix="romcam-tests-cwd-"))  # the CLI's working folder: not the checkout


def require(path: Path) -> Path:
    """Fail (never skip) with a message saying how to get a missing resource."""
    if not path.exists():
        pytest.fail(f"{path} is missing: it ships with the repository; restore it with git checkout -- {path}")
    return path


def clip_path(name: str) -> Path:
    """A real test clip: the copy shipped in tests/data, else the original under ROMCAM_SHARED/media."""
    for folder in (DATA, MEDIA):
        if (folder / name).is_file():
            return folder / name
    pytest.fail(f"test clip {name} is in neither {DATA} nor {MEDIA} (set ROMCAM_SHARED to a folder holding media/)")


def require_tool(*tools: str) -> None:
    """Skip, naming what to install, when a system program a test drives is missing (.ci/run installs them)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        packages = {"Xvfb": "xvfb", "ffmpeg": "ffmpeg", "chromium": "chromium"}
        pytest.skip(f"needs {', '.join(missing)}: apt-get install {' '.join(packages.get(t, t) for t in missing)}")


@functools.cache
def resolved_model() -> Path:
    """The full model as a user's romcam finds it: ROMCAM_MODEL, else the cache, else download or PyPI."""
    from romcam.errors import RomcamError
    from romcam.pose.models import resolve_model

    try:
        return resolve_model().path
    except RomcamError as exc:
        pytest.fail(f"no pose model: {exc}. Run 'romcam models fetch' or set ROMCAM_MODEL to a .task file")


@pytest.fixture(scope="session")
def model_path() -> Path:
    return resolved_model()


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the installed ``python -m romcam`` from a folder outside the checkout, as a user would."""
    full_env = {**os.environ, "ROMCAM_MODEL": str(resolved_model()), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "romcam", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
        cwd=OUTSIDE,
    )


@contextlib.contextmanager
def virtual_screen(size: str = "1280x800") -> Iterator[str]:
    """An Xvfb display for a real OpenCV window; yields its DISPLAY name."""
    require_tool("Xvfb", "ffmpeg")
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


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 128 KiB file system (tmpfs), so that 'disk full' is real; skipped where mounting is not allowed."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("needs mount(8) to make a small file system")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (it needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def read_frames(path: Path, limit: int = 1_000_000) -> list[Any]:
    """The first ``limit`` decoded BGR frames of a video (tests that build clips from real ones)."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    frames: list[Any] = []
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def write_video(path: Path, frames: list[Any], fps: float = 30.0) -> Path:
    """Write BGR frames as an MPEG-4 clip (a test input, as a phone or camera might give)."""
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path
