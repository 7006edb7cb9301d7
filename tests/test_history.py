"""The SQLite history: migrations, change since last time, concurrent writers, a kill mid-write."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import OUTSIDE

from romcam.app.measure import _change
from romcam.history import MIGRATIONS, SCHEMA_VERSION, History, MeasurementRow, migrate
from romcam.output.words import change_words
from romcam.protocols import get_protocol


def _row(peak: float, side: str = "left", protocol: str = "shoulder_abduction") -> MeasurementRow:
    return MeasurementRow(protocol, side, peak, peak - 2, 0.8, 3, ())


def test_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.sqlite") as h:
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        columns = {r[1] for r in h.conn.execute("PRAGMA table_info(measurements)")}
    assert {"peak_deg", "hold_sd_deg", "trials"} <= columns


def test_version_1_file_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO patients VALUES ('P1', '2026-01-01')")
    conn.execute(
        "INSERT INTO sessions (patient_id, kind, started_at, source, details_json) "
        "VALUES ('P1', 'measure', '2026-01-01T10:00:00', 'a.mp4', '{}')"
    )
    conn.execute("INSERT INTO measurements VALUES (1, 'knee_flexion', 'left', 120.0, 118.0, '')")
    conn.close()
    with History.open(path) as h:
        assert h.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        [point] = h.points("P1")
        assert (point.protocol, point.peak_deg) == ("knee_flexion", 120.0)
        assert h.conn.execute("SELECT trials, hold_sd_deg FROM measurements").fetchone() == (0, None)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    from romcam.errors import RomcamError

    path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(RomcamError, match="newer than this romcam"):
        History.open(path)


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "h.sqlite", isolation_level=None)
    assert migrate(conn) == migrate(conn) == SCHEMA_VERSION


def test_second_session_change_is_computed_and_interpreted(tmp_path: Path) -> None:
    protocol = get_protocol("shoulder_abduction")
    with History.open(tmp_path / "h.sqlite") as h:
        h.add_session("P1", "measure", "a.mp4", {"started_at": "2026-11-01T10:00:00"}, [_row(110.0)])
        previous = h.previous("P1", "shoulder_abduction", "left")
        assert previous is not None and previous.peak_deg == 110.0
        assert previous.model_variant == "full"  # stored before romcam recorded the model: the default then
        big = _change(protocol, 122.0, previous, "full")
        small = _change(protocol, 113.0, previous, "full")
        across = _change(protocol, 122.0, previous, "heavy")
        h.add_session(
            "P1", "measure", "c.mp4", {"started_at": "2026-11-09T10:00:00", "model_variant": "heavy"}, [_row(121.0)]
        )
        latest = h.previous("P1", "shoulder_abduction", "left")
        assert h.previous("P1", "shoulder_abduction", "right") is None
        assert h.previous("P2", "shoulder_abduction", "left") is None
    assert big is not None and big.change_deg == pytest.approx(12.0) and big.real
    assert change_words(big).startswith("+12°: larger than the 5°")
    assert small is not None and not small.real and "within the 5°" in change_words(small)
    assert across is not None and not across.real and not across.comparable  # the models read end range apart
    assert "not comparable" in change_words(across) and "--model-variant full" in change_words(across)
    assert latest is not None and latest.peak_deg == 121.0 and latest.model_variant == "heavy"


def test_export_csv(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.sqlite") as h:
        h.add_session("P1", "measure", "a.mp4", {}, [_row(100.0), _row(90.0, "right")])
        h.add_session("P2", "measure", "b.mp4", {}, [_row(80.0)])
        assert h.export_csv(tmp_path / "all.csv") == 3
    lines = (tmp_path / "all.csv").read_text().splitlines()
    assert lines[0].startswith("patient,session,kind,started_at,protocol,side,peak_deg")
    assert len(lines) == 4


_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from romcam.history import History, MeasurementRow
    path, who, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    with History.open(path) as h:
        for i in range(n):
            rows = [MeasurementRow("knee_flexion", side, 100.0 + i, 99.0, 1.0, 3, ()) for side in ("left", "right")]
            h.add_session(who, "measure", "x.mp4", {}, rows)
""")


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    History.open(path).conn.close()
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), f"P{i}", "25"], cwd=OUTSIDE) for i in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with History.open(path) as h:
        assert h.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 75
        assert h.conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0] == 150


_SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from romcam import history
    from romcam.history import History, MeasurementRow
    path, flag = Path(sys.argv[1]), Path(sys.argv[2])
    original = History._insert_row
    def slow_insert(conn, session_id, row):
        original(conn, session_id, row)
        flag.write_text("inside the transaction")
        time.sleep(60)
    History._insert_row = staticmethod(slow_insert)
    with History.open(path) as h:
        rows = [MeasurementRow("knee_flexion", s, 95.0, 94.0, 1.0, 3, ()) for s in ("left", "right")]
        h.add_session("P9", "measure", "x.mp4", {}, rows)
""")


def test_a_process_killed_mid_write_leaves_only_whole_sessions(tmp_path: Path) -> None:
    path, flag = tmp_path / "h.sqlite", tmp_path / "flag"
    with History.open(path) as h:
        h.add_session(
            "P9", "measure", "first.mp4", {}, [_row(90.0, "left", "knee_flexion"), _row(91.0, "right", "knee_flexion")]
        )
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, str(path), str(flag)], cwd=OUTSIDE)
    deadline = time.monotonic() + 60
    while not flag.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert flag.exists(), "the writer never reached its transaction"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with History.open(path) as h:
        assert h.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sessions = h.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        rows = h.conn.execute("SELECT COUNT(*) FROM measurements").fetchone()[0]
        assert (sessions, rows) == (1, 2)  # the killed session left nothing behind
        h.add_session("P9", "measure", "again.mp4", {}, [_row(93.0, "left", "knee_flexion")])  # still writable


def test_the_trend_plot_has_one_panel_per_protocol_with_its_normal_value_and_mdc_band() -> None:
    from romcam.history import HistoryPoint
    from romcam.output.plot import history_figure, local_time, protocol_references

    points = [
        HistoryPoint(1, "2026-01-05T09:00:00+00:00", "shoulder_abduction", "left", 117.0, 115.0, ""),
        HistoryPoint(2, "2026-02-05T09:00:00+00:00", "knee_flexion", "left", 97.5, 96.0, ""),
        HistoryPoint(3, "2026-03-05T09:00:00+00:00", "shoulder_abduction", "left", 125.0, 121.0, ""),
        HistoryPoint(3, "2026-03-05T09:00:00+00:00", "shoulder_abduction", "right", None, None, "view"),
    ]
    refs = protocol_references()
    fig = history_figure(points, refs, "patient P")
    assert fig is not None
    shoulder, knee = fig.axes
    assert shoulder.get_title().startswith(refs["shoulder_abduction"].title)
    assert knee.get_title().startswith(refs["knee_flexion"].title)
    [shoulder_line, normal_line] = shoulder.get_lines()
    assert np.asarray(shoulder_line.get_ydata(), float).tolist() == [
        117.0,
        125.0,
    ]  # one protocol's values only; the unmeasured side absent
    assert set(np.asarray(normal_line.get_ydata(), float).tolist()) == {refs["shoulder_abduction"].normal_deg}
    [band] = shoulder.patches
    low, high = band.get_extents().transformed(shoulder.transData.inverted()).intervaly
    mdc = refs["shoulder_abduction"].change_deg
    assert mdc is not None
    assert (low, high) == pytest.approx((117.0 - mdc, 117.0 + mdc), abs=0.5)
    assert local_time("2026-01-05T09:00:00+00:00").tzinfo is None
    assert history_figure(points[3:], refs, "nothing measured") is None
