"""Shared fixtures: paths to the shared media and model, and the CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
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
