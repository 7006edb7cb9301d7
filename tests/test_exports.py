"""Exports for biomechanics tools, loaded by the real readers: OpenSim (Storage, TimeSeriesTable,
TimeSeriesTableVec3) and two C3D readers (``c3d``, ``ezc3d``). Tier ``readers`` (pip install '.[readers]');
the writer's own checks run in the default tier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import clip_path, run_cli
from fk import side_view

from romcam.output.opensim import read_mot, write_mot
from romcam.types import PoseSequence

FPS = 30.0


def _landmarks(tmp_path: Path, n: int = 90) -> Path:
    """A side-view knee bend with the far leg's ankle lost for a second (its angles are not measured on every
    frame) and world landmarks in metres."""
    knee = 45.0 * (1 - np.cos(2 * np.pi * np.arange(n) / n))
    xy = np.stack([side_view(1, knee_flexion=(k, k), hip_flexion=(0.5 * k, 0.5 * k)) for k in knee])
    visibility = np.ones((n, 33))
    visibility[30:60, 27] = 0.0  # LEFT_ANKLE hidden for 1 s
    world = np.concatenate([xy / 500.0, np.zeros((n, 33, 1))], axis=-1)
    path = tmp_path / "l.npz"
    PoseSequence(xy, world, visibility, np.arange(n) / FPS, 1280, 720).save_npz(path)
    return path


def test_mot_has_no_nan_and_names_what_it_left_out(tmp_path: Path) -> None:
    t = np.arange(5) / FPS
    angles = {"a": np.arange(5.0), "b": np.array([1.0, np.nan, 2.0, 3.0, 4.0]), "c": np.full(5, np.nan)}
    assert write_mot(tmp_path / "x.mot", t, angles) == ["b", "c"]
    header, time, columns = read_mot(tmp_path / "x.mot")
    assert header["nRows"] == "5" and header["nColumns"] == "2" and header["romcam_left_out"] == "b,c"
    assert list(columns) == ["a"] and np.isfinite(columns["a"]).all() and np.all(np.diff(time) > 0)
    assert "NaN" not in (tmp_path / "x.mot").read_text()
    with pytest.raises(ValueError, match="strictly increasing"):
        write_mot(tmp_path / "y.mot", np.array([0.0, 0.1, 0.1]), {"a": np.zeros(3)})


def test_unknown_export_format_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(
        "analyze", "--from-landmarks", str(_landmarks(tmp_path)), "--out", str(tmp_path / "o"), "--export", "mot,fbx"
    )
    assert result.returncode == 2 and "unknown export format fbx; valid formats: mot, trc, c3d" in result.stderr


@pytest.mark.readers
def test_opensim_and_c3d_readers_read_every_row_and_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # OpenSim writes opensim.log into the working folder
    opensim = pytest.importorskip("opensim")
    c3d = pytest.importorskip("c3d")
    out = tmp_path / "out"
    result = run_cli(
        "analyze", "--from-landmarks", str(_landmarks(tmp_path)), "--out", str(out), "--export", "mot,trc,c3d"
    )
    assert result.returncode == 0, result.stderr
    header, t, columns = read_mot(out / "angles.mot")
    n, kept = len(t), list(columns)
    left_out = header["romcam_left_out"].split(",")
    assert "left_knee_flexion" in left_out and "right_knee_flexion" in kept  # the hidden ankle's angles only

    storage = opensim.Storage(str(out / "angles.mot"))
    assert storage.getSize() == n  # before: 1 row, Storage stopped at the first NaN
    assert storage.getColumnLabels().getSize() == len(kept) + 1
    table = opensim.TimeSeriesTable(str(out / "angles.mot"))
    assert (table.getNumRows(), table.getNumColumns()) == (n, len(kept))
    assert np.allclose(table.getDependentColumn("right_knee_flexion").to_numpy(), columns["right_knee_flexion"])

    markers = opensim.TimeSeriesTableVec3(str(out / "landmarks.trc"))
    assert (markers.getNumRows(), markers.getNumColumns()) == (n, 33)
    assert markers.getTableMetaDataAsString("Units") == "m"

    with open(out / "landmarks.c3d", "rb") as handle:
        reader = c3d.Reader(handle)
        assert reader.point_rate == pytest.approx(FPS) and len(reader.point_labels) == 33
        assert [str(s).strip() for s in reader.point_labels][:3] == ["NOSE", "LEFT_EYE_INNER", "LEFT_EYE"]
        assert reader.get("POINT:UNITS").string_value.strip() == "m"
        frames = list(reader.read_frames())
    assert len(frames) == n
    ezc3d = pytest.importorskip("ezc3d")
    points = ezc3d.c3d(str(out / "landmarks.c3d"))["data"]["points"]  # (4, markers, frames)
    from romcam.output.opensim import read_trc

    _, _, _, trc = read_trc(out / "landmarks.trc")
    assert np.allclose(np.transpose(points[:3], (2, 1, 0)), trc, atol=1e-5, equal_nan=True)


@pytest.mark.readers
def test_no_360_degree_step_in_a_lying_clip_and_opensim_reads_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real clip of a person lying on their back (a bridge): before, trunk angles stepped from -90 to 270."""
    monkeypatch.chdir(tmp_path)  # OpenSim writes opensim.log into the working folder
    opensim = pytest.importorskip("opensim")
    out = tmp_path / "out"
    result = run_cli(
        "analyze",
        str(clip_path("bridge_supine_side_01_backlit.mp4")),
        "--out",
        str(out),
        "--no-video",
        "--export",
        "mot",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    _, t, columns = read_mot(out / "angles.mot")
    assert "trunk_flexion" in columns
    for name, values in columns.items():
        assert np.all(np.abs(np.diff(values)) < 60.0), name  # no seam crossing: at most a fast movement
    assert abs(float(np.median(columns["trunk_flexion"]))) > 45  # lying: far from upright, on one side of the seam
    assert opensim.Storage(str(out / "angles.mot")).getSize() == len(t)
    summary = json.loads(result.stdout)
    assert summary["angles"]["trunk_flexion"]["all_frames_max_deg"] < 180


@pytest.mark.slow
def test_no_360_degree_step_when_seated(tmp_path: Path) -> None:
    """A rendered seated person (hips and knees at 90°, each knee extending): before, hip abduction of the
    seated thighs flipped between -81 and 257. Uses a clip of the held-out set for this invariant only."""
    from conftest import ROOT

    clip = ROOT / "bench" / "heldout" / "seated_front_heavy_dim.mp4"
    out = tmp_path / "out"
    result = run_cli("analyze", str(clip), "--out", str(out), "--no-video", "--export", "mot")
    assert result.returncode == 0, result.stderr
    from romcam.output.tables import read_angles_csv

    _, angles = read_angles_csv(out / "angles.csv")
    for name, values in angles.items():
        steps = np.abs(np.diff(values))
        assert not np.any(steps[np.isfinite(steps)] > 120.0), name  # a wrap would be a step near 360
    _, _, columns = read_mot(out / "angles.mot")
    for name, values in columns.items():
        assert np.all(np.abs(np.diff(values)) < 120.0), name
