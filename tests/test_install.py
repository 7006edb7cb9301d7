"""The package as users install it: the wheel carries every file romcam tracks, and the suite imports it."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

import romcam


def _tracked_package_files() -> list[str]:
    """Paths (relative to the checkout) of every file git tracks under romcam/."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to know which files are tracked")
    out = subprocess.run(
        ["git", "ls-files", "romcam"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert any(name.endswith(".toml") for name in out), "no data files tracked under romcam/?"
    return out


def test_the_suite_imports_the_installed_package_not_the_checkout() -> None:
    """Installed normally, the romcam under test is the installed copy with every tracked file (an editable
    install maps to the checkout by design, and then the wheel test below is what checks the package data)."""
    dist = importlib.metadata.distribution("romcam")
    editable = '"editable": true' in (dist.read_text("direct_url.json") or "").replace("'", '"')
    package = Path(romcam.__file__).resolve().parent
    if not editable:
        assert package == Path(str(dist.locate_file("romcam"))).resolve(), f"imported {package}, not the install"
        assert package != ROOT / "romcam"
    for name in _tracked_package_files():
        assert (package.parent / name).is_file(), f"installed romcam lacks {name}"


def test_built_wheel_carries_every_tracked_file(tmp_path: Path) -> None:
    tracked = _tracked_package_files()
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file() and not name.startswith(("tests/data/", "samples/")):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    wheels = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(src)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = wheels.glob("romcam-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in tracked if name not in names]
    assert not missing, f"the wheel lacks {missing}"


def test_installed_cli_lists_the_exercises_and_protocols() -> None:
    """From a folder outside the checkout: the data files are found where the package is installed."""
    exercises = run_cli("exercise", "--list")
    assert exercises.returncode == 0, exercises.stderr
    assert len(exercises.stdout.splitlines()) == len(list((ROOT / "romcam" / "exercises").glob("*.toml")))
    protocols = run_cli("measure", "--list")
    assert protocols.returncode == 0, protocols.stderr
    assert len(protocols.stdout.splitlines()) == len(list((ROOT / "romcam" / "protocols").glob("*.toml")))
    assert "Shoulder abduction (pose model: heavy)" in protocols.stdout


def test_every_json_file_carries_the_schema_version(tmp_path: Path) -> None:
    from romcam.output.tables import SCHEMA_VERSION, write_json

    write_json(tmp_path / "x.json", {"a": float("nan")})
    text = (tmp_path / "x.json").read_text()
    assert text.lstrip().startswith('{\n  "schema_version": ' + str(SCHEMA_VERSION)) and '"a": null' in text
