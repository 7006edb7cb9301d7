"""Batch analysis: discovery, resumability, failures, engines, and the OpenSim exports."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import OUTSIDE, SAMPLES, clip_path, require, resolved_model, run_cli

from romcam.app.analyze import AnalyzeConfig
from romcam.app.batch import MARKER, BatchConfig, discover, run_batch
from romcam.output.opensim import read_mot, read_trc, world_to_opensim_m, write_mot, write_trc

CLIPS = (  # short real clips and a rendered one: 91 + 100 + 276 frames
    clip_path("bridge_supine_side_01_backlit.mp4"),
    clip_path("hard_two_people_02_lab_bystander.mp4"),
    SAMPLES / "rendered_front.mp4",
)


def _folder(root: Path) -> Path:
    """Three good clips (one in a sub-folder), a corrupt video, a text file named .mov, and notes."""
    src = root / "in"
    (src / "sub").mkdir(parents=True)
    for i, path in enumerate(CLIPS):
        shutil.copy(require(path), (src / "sub" if i == 2 else src) / path.name)
    whole = clip_path("squat_front_02_home_workout.mp4").read_bytes()
    (src / "corrupt.mp4").write_bytes(whole[len(whole) // 2 :])  # the second half: no header, no index
    (src / "fake.mov").write_text("not a video\n")
    (src / "notes.txt").write_text("ignored: not a video extension\n")
    return src


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _batch(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = run_cli("batch", str(src), "--out", str(out), "--no-video", "--workers", "2", *extra)
    assert result.returncode == 0, result.stderr
    return result


# --- discovery (no model) ---------------------------------------------------------------------


def test_discover_keys_are_relative_unique_and_keep_metadata(tmp_path: Path) -> None:
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("a/x.mp4", "a/x.mov", "a/deep/y.MP4", "a/readme.txt"):
        (tmp_path / name).write_bytes(b"v")
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,patient,side\na/deep/y.MP4,P01,left\n")
    jobs = discover((str(tmp_path / "a"),), manifest)
    # manifest clips are keyed relative to the manifest's folder, folder clips relative to the folder
    assert [j.key for j in jobs] == ["a/deep/y", "x", "x_mp4"]
    assert jobs[0].meta == {"patient": "P01", "side": "left"}  # the folder names it again; kept once
    globbed = discover((str(tmp_path / "a" / "*.mp4"),))
    assert [j.key for j in globbed] == ["x"]


def test_discover_errors(tmp_path: Path) -> None:
    from romcam.errors import RomcamError

    with pytest.raises(RomcamError, match="no such file, folder or matching glob"):
        discover((str(tmp_path / "nothing*.mp4"),))
    bad = tmp_path / "m.csv"
    bad.write_text("file,patient\nx.mp4,P1\n")
    with pytest.raises(RomcamError, match="needs a 'path' column"):
        discover((), bad)


# --- OpenSim files (no model) -----------------------------------------------------------------


def test_mot_header_and_round_trip(tmp_path: Path) -> None:
    t = np.arange(4) / 29.97
    angles = {"left_knee_flexion": np.array([1.0, 2.5, np.nan, 90.0]), "trunk_flexion": np.zeros(4)}
    assert write_mot(tmp_path / "a.mot", t, angles) == ["left_knee_flexion"]  # a frame without it: left out
    lines = (tmp_path / "a.mot").read_text().splitlines()
    assert lines[:7] == [
        "a.mot",
        "version=1",
        "nRows=4",
        "nColumns=2",
        "inDegrees=yes",
        "romcam_left_out=left_knee_flexion",
        "endheader",
    ]
    assert lines[7].split("\t") == ["time", "trunk_flexion"]
    header, t_back, back = read_mot(tmp_path / "a.mot")
    np.testing.assert_allclose(t_back, t, atol=1e-6)
    np.testing.assert_allclose(back["trunk_flexion"], angles["trunk_flexion"], atol=1e-6)


def test_trc_header_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    world = rng.normal(size=(5, 33, 3))
    world[2, 7] = np.nan
    t = np.arange(5) / 30.0
    write_trc(tmp_path / "l.trc", t, world, 30.0)
    lines = (tmp_path / "l.trc").read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["PathFileType", "4", "(X/Y/Z)"]
    header, markers, t_back, xyz = read_trc(tmp_path / "l.trc")
    assert header["Units"] == "m" and header["NumMarkers"] == "33" and header["NumFrames"] == "5"
    assert float(header["DataRate"]) == 30.0
    assert markers[:2] == ["NOSE", "LEFT_EYE_INNER"] and len(markers) == 33
    assert lines[4].split("\t")[2:5] == ["X1", "Y1", "Z1"] and lines[5] == ""
    assert lines[6].split("\t")[0] == "1"  # frames count from 1
    np.testing.assert_allclose(xyz, world_to_opensim_m(world), atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(t_back, t, atol=1e-6)


# --- real runs --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    root = tmp_path_factory.mktemp("batch")
    src = _folder(root)
    result = _batch(src, root / "out")
    shutil.copy(root / "out" / "summary.csv", root / "default_summary.csv")  # before any test changes settings
    return src, root / "out", result.stdout


def _default_summary(out: Path) -> list[dict[str, str]]:
    return _csv(out.parent / "default_summary.csv")


@pytest.mark.slow
def test_summary_and_failures(first_run: tuple[Path, Path, str]) -> None:
    src, out, stdout = first_run
    assert "3 done, 0 skipped, 2 failed" in stdout
    rows = _csv(out / "summary.csv")
    assert {r["output"] for r in rows} == {
        "bridge_supine_side_01_backlit",
        "hard_two_people_02_lab_bystander",
        "sub/rendered_front",
    }
    assert len(rows) == 3 * 18
    front = {r["angle"]: r for r in rows if r["output"] == "sub/rendered_front"}
    assert 120 < float(front["left_shoulder_abduction"]["max_deg"]) < 160  # raised to about 150 deg
    assert front["left_shoulder_abduction"]["flags"] == ""
    failures = {r["output"]: r["reason"] for r in _csv(out / "failures.csv")}
    assert set(failures) == {"corrupt", "fake"}
    assert all("not a readable video" in reason for reason in failures.values())
    for key in ("bridge_supine_side_01_backlit", "sub/rendered_front"):
        folder = out / key
        for name in ("angles.csv", "summary.json", "landmarks.npz", "angles.png", "angles.mot", "landmarks.trc"):
            assert (folder / name).is_file(), folder / name
    assert not list(src.rglob("*.csv")) and not (src / "sub" / "rendered_front").exists()  # inputs untouched


@pytest.mark.slow
def test_second_run_skips_everything_and_new_settings_redo_everything(first_run: tuple[Path, Path, str]) -> None:
    src, out, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in out.rglob(MARKER)}
    again = _batch(src, out)
    assert "0 done, 5 skipped, 0 failed" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob(MARKER)} == before
    summary = _csv(out / "summary.csv")
    changed = _batch(src, out, "--cutoff-hz", "3")
    assert "3 done, 0 skipped, 2 failed" in changed.stdout
    resummary = _csv(out / "summary.csv")
    assert [r["angle"] for r in resummary] == [r["angle"] for r in summary]
    assert any(a["max_deg"] != b["max_deg"] for a, b in zip(summary, resummary, strict=True))  # a new filter


@pytest.mark.slow
def test_from_landmarks_redoes_kinematics_without_the_model(first_run: tuple[Path, Path, str], tmp_path: Path) -> None:
    src, out, _ = first_run
    start = time.monotonic()
    result = run_cli(
        "batch",
        str(src),
        "--out",
        str(out),
        "--no-video",
        "--from-landmarks",
        "--cutoff-hz",
        "5",
        env={"ROMCAM_MODEL": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    assert "3 done" in result.stdout and time.monotonic() - start < 60
    # the same as analysing the saved landmarks on their own
    single = run_cli(
        "analyze",
        "--from-landmarks",
        str(out / "sub/rendered_front/landmarks.npz"),
        "--out",
        str(tmp_path),
        "--cutoff-hz",
        "5",
        "--json",
    )
    expected = json.loads(single.stdout)["angles"]["left_shoulder_abduction"]["max_deg"]
    got = [
        r
        for r in _csv(out / "summary.csv")
        if r["output"] == "sub/rendered_front" and r["angle"] == "left_shoulder_abduction"
    ][0]
    assert abs(float(got["max_deg"]) - expected) < 1e-3


@pytest.mark.slow
def test_killed_run_restarts_to_the_same_summary(first_run: tuple[Path, Path, str], tmp_path: Path) -> None:
    src, reference_out, _ = first_run
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "romcam", "batch", str(src), "--out", str(out), "--no-video", "--workers", "1"]
    env = {**os.environ, "ROMCAM_MODEL": str(resolved_model())}
    proc = subprocess.Popen(
        cmd, env=env, cwd=OUTSIDE, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not [p for p in out.rglob(MARKER) if "romcam-tmp" not in str(p)]:
        time.sleep(0.1)  # the first clip is finished; the longest-first order leaves the others in flight
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job, workers too, as a closed terminal would
    proc.wait()
    finished = len(list(out.rglob(MARKER)))
    assert 0 < finished < 5, "the kill should land half way"
    restarted = _batch(src, out)
    assert f"{finished} skipped" in restarted.stdout
    assert _csv(out / "summary.csv") == _default_summary(reference_out)


@pytest.mark.slow
def test_manifest_metadata_reaches_the_tables(tmp_path: Path) -> None:
    clip = clip_path("bridge_supine_side_01_backlit.mp4")
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        f"path,patient,exercise,side,date\n{clip},P07,bridge,left,2026-11-02\n"
        f"{tmp_path / 'missing.mp4'},P08,squat,right,2026-11-03\n"
    )
    result = run_cli("batch", "--manifest", str(manifest), "--out", str(tmp_path / "o"), "--no-video")
    assert result.returncode == 0, result.stderr
    rows = _csv(tmp_path / "o" / "summary.csv")
    assert {(r["patient"], r["exercise"], r["side"], r["date"]) for r in rows} == {
        ("P07", "bridge", "left", "2026-11-02")
    }
    failure = _csv(tmp_path / "o" / "failures.csv")
    assert failure[0]["patient"] == "P08" and "missing.mp4" in failure[0]["reason"]


@pytest.mark.slow
def test_ray_engine_on_a_local_instance_gives_the_same_summary(
    first_run: tuple[Path, Path, str], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install '.[ray]'")
    src, reference_out, _ = first_run
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        analysis = AnalyzeConfig(out_dir=tmp_path, write_video=False)
        report = run_batch(
            BatchConfig(inputs=(str(src),), out_dir=tmp_path / "out", analysis=analysis, workers=2, engine="ray")
        )
    finally:
        ray.shutdown()
    assert (report.done, report.failed) == (3, 2)
    assert len({r.worker_pid for r in report.results if r.status == "done"}) == 2  # two actors shared the work
    assert _csv(tmp_path / "out" / "summary.csv") == _default_summary(reference_out)


@pytest.mark.slow
def test_ctrl_c_keeps_finished_clips_and_writes_the_tables(first_run: tuple[Path, Path, str], tmp_path: Path) -> None:
    src, _, _ = first_run
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "romcam", "batch", str(src), "--out", str(out), "--no-video", "--workers", "1"]
    env = {**os.environ, "ROMCAM_MODEL": str(resolved_model())}
    proc = subprocess.Popen(
        cmd, env=env, cwd=OUTSIDE, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not [p for p in out.rglob(MARKER) if "romcam-tmp" not in str(p)]:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole process group
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in stderr and "Traceback" not in stderr
    done = {p.parent.relative_to(out).as_posix() for p in out.rglob(MARKER)}
    assert done and not (out / ".romcam-tmp").exists()
    assert {r["output"] for r in _csv(out / "summary.csv")} | {r["output"] for r in _csv(out / "failures.csv")} == done


def test_summary_flags_name_the_view_problems() -> None:
    from romcam.app.batch import angle_flags

    summary = {"frames": {"person_fraction": 1.0}, "video": {}}
    stats = {"min_deg": 1.0, "valid_fraction": 0.9, "flag_codes": ["far_side", "view"]}
    assert angle_flags(stats, summary) == ["wrong_view", "far_side"]
    assert angle_flags({**stats, "flag_codes": []}, summary) == []
    assert angle_flags(stats, {**summary, "warnings": ["short read: decoded 41 of the 90 frames"]})[0] == "short_read"
    assert angle_flags({"min_deg": None, "valid_fraction": 0.0}, {**summary, "video": {"interrupted": True}}) == [
        "not_measured",
        "interrupted",
    ]
