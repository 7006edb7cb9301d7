"""Nothing measured is lost: the history file failing (corrupt, locked, newer, full, missing), two processes
creating it at once, importing a saved result later, and errors as one line instead of tracebacks."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import SAMPLES, require, run_cli

from romcam.history import SCHEMA_VERSION, History, HistoryError, MeasurementRow, import_result_file


def _row(peak: float) -> MeasurementRow:
    return MeasurementRow("knee_flexion", "left", peak, peak - 2, 0.8, 3, ())


def _open_at_once(path: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    with History.open(Path(path)) as h:
        h.add_session("P1", "measure", "x.mp4", {}, [_row(90.0)])


def test_processes_creating_the_file_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(6)
    workers = [ctx.Process(target=_open_at_once, args=(str(path), barrier)) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 6
    with History.open(path) as h:
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert len(h.points("P1")) == 6


def test_a_locked_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History.open(path).conn.close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match="locked"), History.open(path, timeout_s=0.2) as h:
            h.add_session("P1", "measure", "x.mp4", {}, [_row(90.0)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_history_needs_an_existing_file_when_asked_not_to_create(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no history file"):
        History.open(tmp_path / "typo.sqlite", create=False)
    assert not (tmp_path / "typo.sqlite").exists()


def test_a_full_disk_is_a_one_line_error_and_keeps_whole_sessions(tiny_disk: Path) -> None:
    path = tiny_disk / "h.sqlite"
    stored = 0
    with History.open(path) as h, pytest.raises(HistoryError, match="full"):
        for i in range(100_000):
            h.add_session("P1", "measure", "x" * 2000, {"note": "y" * 2000}, [_row(float(i % 180))])
            stored += 1
    with History.open(path) as h:
        assert len(h.points("P1")) == stored > 0


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``measure`` with a corrupt history file, into a folder holding an earlier run's extra peak image."""
    base = tmp_path_factory.mktemp("measure")
    out, db = base / "out", base / "broken.sqlite"
    out.mkdir()
    (out / "peak_right_trial3.png").write_bytes(b"an earlier run's image")
    (out / "notes.txt").write_text("the therapist's own file\n")
    db.write_bytes(b"this is not a database" * 100)
    clip = require(SAMPLES / "rendered_knee_trials_side_left.mp4")
    result = run_cli(
        "measure", "--protocol", "knee_flexion", "--side", "left", "--source", str(clip), "--headless",
        "--out", str(out), "--patient", "P7", "--db", str(db),
    )  # fmt: skip
    return result, out


def test_a_broken_history_keeps_the_measurement_and_says_how_to_add_it(
    measured: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = measured
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "history import" in lines[0] and "not a database" in lines[0], result.stderr
    assert "knee" in result.stdout.lower()  # the results were printed before the error
    measurement = json.loads((out / "measurement.json").read_text())
    assert (out / "report.html").stat().st_size > 1000
    left = measurement["results"][0]
    assert left["peak_deg"] is not None and 60 < left["peak_deg"] < 140  # rendered knee bends peak near 100
    assert len(left["trials_deg"]) == 3  # three rendered bends


def test_a_rerun_leaves_no_earlier_files_but_keeps_the_users(
    measured: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = measured
    assert not (out / "peak_right_trial3.png").exists()  # this run measured the left side only
    assert sorted(p.name for p in out.glob("peak_*.png")) == [f"peak_left_trial{i}.png" for i in (1, 2, 3)]
    assert (out / "notes.txt").exists()
    assert not list(out.glob(".*part*"))  # no temporary files left behind


def test_history_import_adds_a_saved_measurement_once(
    measured: tuple[subprocess.CompletedProcess[str], Path], tmp_path: Path
) -> None:
    _, out = measured
    db = tmp_path / "good.sqlite"
    first = run_cli("history", "import", str(out / "measurement.json"), "--db", str(db))
    assert first.returncode == 0 and "added session 1 of patient P7" in first.stdout, first.stderr
    again = run_cli("history", "import", str(out / "measurement.json"), "--db", str(db))
    assert again.returncode == 0 and "already in the history" in again.stdout
    peak = json.loads((out / "measurement.json").read_text())["results"][0]["peak_deg"]
    with History.open(db) as h:
        (point,) = h.points("P7", "knee_flexion")
    assert point.peak_deg == pytest.approx(peak) and point.model_variant == "full"  # the model that measured it
    shown = run_cli("history", "P7", "--db", str(db), "--plot", str(tmp_path / "trend.png"))
    assert shown.returncode == 0 and f"{peak:.1f}" in shown.stdout
    assert (tmp_path / "trend.png").stat().st_size > 1000


def test_import_refuses_files_that_are_not_results(tmp_path: Path) -> None:
    other = tmp_path / "summary.json"
    other.write_text(json.dumps({"angles": {}}))
    with History.open(tmp_path / "h.sqlite") as h, pytest.raises(Exception, match="neither a measure result"):
        import_result_file(h, other)


@pytest.mark.parametrize(
    "args",
    [
        ["history", "P1", "--db", "{tmp}/typo.sqlite"],
        ["history", "--export", "/nonexistent-folder/x.csv", "--db", "{tmp}/h.sqlite"],
        ["history", "P1", "--plot", "/nonexistent-folder/x.png", "--db", "{tmp}/h.sqlite"],
        ["history", "import", "{tmp}/missing.json", "--db", "{tmp}/h.sqlite"],
    ],
)
def test_history_errors_are_one_line(args: list[str], tmp_path: Path) -> None:
    with History.open(tmp_path / "h.sqlite") as h:
        h.add_session("P1", "measure", "x.mp4", {}, [_row(90.0)])
    result = run_cli(*(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "typo.sqlite").exists()
