"""The patient history: a versioned SQLite file shared by ``measure`` and ``exercise``.

Patients are identified by a pseudonymous ID the therapist chooses. Each session is written in one
transaction (a killed process leaves only whole sessions); concurrent writers wait for each other.
The schema version lives in ``PRAGMA user_version`` and ``MIGRATIONS`` brings any older file up to date.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from romcam.errors import RomcamError
from romcam.fileio import atomic_path

ENV_DB = "ROMCAM_DB"
UNRECORDED_MODEL = "full"
"""The pose model variant of a session or result stored without one: romcam's default before it recorded it."""

MIGRATIONS: tuple[str, ...] = (
    # 1: patients, sessions and one row per measured side
    """
    CREATE TABLE patients (id TEXT PRIMARY KEY, created_at TEXT NOT NULL);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        patient_id TEXT NOT NULL REFERENCES patients(id),
        kind TEXT NOT NULL,
        started_at TEXT NOT NULL,
        source TEXT NOT NULL,
        details_json TEXT NOT NULL
    );
    CREATE TABLE measurements (
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        protocol TEXT NOT NULL,
        side TEXT NOT NULL,
        peak_deg REAL,
        mean_deg REAL,
        flags TEXT NOT NULL
    );
    CREATE INDEX measurements_by_protocol ON measurements(protocol, side);
    """,
    # 2: hold stability and trial count, and the romcam version that measured
    """
    ALTER TABLE measurements ADD COLUMN hold_sd_deg REAL;
    ALTER TABLE measurements ADD COLUMN trials INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN romcam_version TEXT NOT NULL DEFAULT '';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_db_path() -> Path:
    """``ROMCAM_DB`` or ``history.sqlite`` in the user data directory."""
    return Path(os.environ.get(ENV_DB) or Path(platformdirs.user_data_dir("romcam")) / "history.sqlite")


@dataclass(frozen=True)
class MeasurementRow:
    """One measured side of one protocol in one session."""

    protocol: str
    side: str
    peak_deg: float | None
    mean_deg: float | None
    hold_sd_deg: float | None
    trials: int
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistoryPoint:
    """A past measurement, for trends and change; ``model_variant`` is the pose model that measured it (sessions
    stored before romcam recorded it ran the default, full)."""

    session_id: int
    started_at: str
    protocol: str
    side: str
    peak_deg: float | None
    mean_deg: float | None
    flags: str
    model_variant: str = UNRECORDED_MODEL


@dataclass(frozen=True)
class PatientSummary:
    """A patient in the history: ID, number of sessions, latest session start (UTC ISO), if any."""

    patient_id: str
    sessions: int
    last_started_at: str | None


class HistoryError(RomcamError):
    """The history file could not be read or written (locked, corrupt, newer schema, disk full)."""


def _schema_version(conn: sqlite3.Connection) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise HistoryError(f"the history file has schema {version}, newer than this romcam ({SCHEMA_VERSION})")
    return version


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the file lacks, each in its own transaction; returns the final version.

    Safe across processes: each step re-reads the version inside its write transaction, so a second
    process that waited for the first finds the step done and skips it.
    """
    for target in range(_schema_version(conn) + 1, SCHEMA_VERSION + 1):
        with transaction(conn):
            if _schema_version(conn) >= target:
                continue
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
    return SCHEMA_VERSION


@contextmanager
def _database_errors(path: Path) -> Iterator[None]:
    """Turn SQLite's errors (locked, corrupt, disk full) into one-line ``HistoryError`` messages."""
    try:
        yield
    except sqlite3.Error as exc:
        raise HistoryError(f"cannot use the history file {path}: {exc}") from exc


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _set_wal(conn: sqlite3.Connection, timeout_s: float) -> None:
    """Switch to write-ahead logging, waiting up to ``timeout_s`` for other processes: SQLite may answer "database
    is locked" to this pragma at once, without its busy timeout, while another process creates the file."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class History:
    """The history file; open with ``History.open(path)`` and use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn, self.path = conn, path

    @classmethod
    def open(cls, path: Path | None = None, timeout_s: float = 30.0, create: bool = True) -> History:
        """Open (``create``: or make) the history file and bring its schema up to date.

        Raises ``HistoryError`` with one line when the file is missing (``create=False``), locked for
        longer than ``timeout_s``, corrupt, of a newer schema, or cannot be written.
        """
        path = path or default_db_path()
        if not create and not path.is_file():
            raise HistoryError(f"no history file at {path} (it is made by measure or exercise with --patient)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"cannot make the folder for the history file {path}: {exc.strerror or exc}") from exc
        conn = None
        try:
            with _database_errors(path):
                conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
                _set_wal(conn, timeout_s)
                conn.execute("PRAGMA foreign_keys=ON")
                migrate(conn)
        except HistoryError:
            if conn is not None:
                conn.close()
            raise
        return cls(conn, path)

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()

    def add_session(
        self,
        patient_id: str,
        kind: str,
        source: str,
        details: dict[str, Any],
        rows: list[MeasurementRow],
        romcam_version: str = "",
    ) -> int:
        """Write a session and its rows in one transaction; returns the session id."""
        if not patient_id.strip():
            raise RomcamError("a patient ID must not be empty")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with _database_errors(self.path), transaction(self.conn) as conn:
            conn.execute("INSERT OR IGNORE INTO patients (id, created_at) VALUES (?, ?)", (patient_id, now))
            cursor = conn.execute(
                "INSERT INTO sessions (patient_id, kind, started_at, source, details_json, romcam_version) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (patient_id, kind, details.get("started_at", now), source, json.dumps(details), romcam_version),
            )
            session_id = int(cursor.lastrowid or 0)
            for row in rows:
                self._insert_row(conn, session_id, row)
        return session_id

    @staticmethod
    def _insert_row(conn: sqlite3.Connection, session_id: int, row: MeasurementRow) -> None:
        conn.execute(
            "INSERT INTO measurements (session_id, protocol, side, peak_deg, mean_deg, hold_sd_deg, trials, flags) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                session_id,
                row.protocol,
                row.side,
                row.peak_deg,
                row.mean_deg,
                row.hold_sd_deg,
                row.trials,
                ";".join(row.flags),
            ),
        )

    def points(self, patient_id: str | None = None, protocol: str | None = None) -> list[HistoryPoint]:
        """Measurements in time order, optionally for one patient and one protocol."""
        query = (
            "SELECT s.id, s.started_at, m.protocol, m.side, m.peak_deg, m.mean_deg, m.flags, s.details_json "
            "FROM measurements m JOIN sessions s ON s.id = m.session_id WHERE 1=1"
        )
        params: list[str] = []
        if patient_id is not None:
            query += " AND s.patient_id = ?"
            params.append(patient_id)
        if protocol is not None:
            query += " AND m.protocol = ?"
            params.append(protocol)
        with _database_errors(self.path):
            rows = self.conn.execute(query + " ORDER BY s.started_at, s.id, m.side", params).fetchall()
        return [HistoryPoint(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _model_variant(r[7])) for r in rows]

    def patients(self, contains: str = "") -> list[PatientSummary]:
        """Every patient (optionally only IDs containing ``contains``, case-insensitive) with their session count
        and latest session date, most recently seen first."""
        pattern = "%" + contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with _database_errors(self.path):
            rows = self.conn.execute(
                "SELECT p.id, COUNT(s.id), MAX(s.started_at) FROM patients p "
                "LEFT JOIN sessions s ON s.patient_id = p.id "
                "WHERE p.id LIKE ? ESCAPE '\\' GROUP BY p.id ORDER BY MAX(s.started_at) DESC, p.id",
                (pattern,),
            ).fetchall()
        return [PatientSummary(r[0], int(r[1]), r[2]) for r in rows]

    def find_session(self, patient_id: str, kind: str, started_at: str, source: str) -> int | None:
        """The id of a stored session with these keys, if any (so an import is not stored twice)."""
        with _database_errors(self.path):
            row = self.conn.execute(
                "SELECT id FROM sessions WHERE patient_id = ? AND kind = ? AND started_at = ? AND source = ?",
                (patient_id, kind, started_at, source),
            ).fetchone()
        return int(row[0]) if row else None

    def previous(
        self, patient_id: str, protocol: str, side: str, before_session: int | None = None
    ) -> HistoryPoint | None:
        """The latest earlier measurement of this protocol and side for this patient."""
        points = [
            p
            for p in self.points(patient_id, protocol)
            if p.side == side and p.peak_deg is not None and (before_session is None or p.session_id < before_session)
        ]
        return points[-1] if points else None

    def export_csv(self, path: Path) -> int:
        """Every measurement with its patient and session, one row each; returns the row count."""
        with _database_errors(self.path):
            rows = self.conn.execute(
                "SELECT s.patient_id, s.id, s.kind, s.started_at, m.protocol, m.side, m.peak_deg, m.mean_deg, "
                "m.hold_sd_deg, m.trials, m.flags FROM measurements m JOIN sessions s ON s.id = m.session_id "
                "ORDER BY s.patient_id, s.started_at, s.id, m.protocol, m.side"
            ).fetchall()
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(
                [
                    "patient",
                    "session",
                    "kind",
                    "started_at",
                    "protocol",
                    "side",
                    "peak_deg",
                    "mean_deg",
                    "hold_sd_deg",
                    "trials",
                    "flags",
                ]
            )
            writer.writerows(rows)
        return len(rows)


def _measurement_rows(measurement: dict[str, Any]) -> list[MeasurementRow]:
    """The rows of a ``measure`` result (``measurement.json``): one per side with a peak."""
    protocol = measurement["protocol"]["name"]
    return [
        MeasurementRow(
            protocol,
            r["side"],
            r["peak_deg"],
            r["mean_deg"],
            r["hold_sd_deg"],
            len(r["trials_deg"]),
            tuple(r["flags"]),
        )
        for r in measurement["results"]
        if r["peak_deg"] is not None
    ]


def _exercise_rows(record: dict[str, Any]) -> list[MeasurementRow]:
    """The rows of an ``exercise`` session (``session.json``): one per exercise, its reps and peaks."""
    rows = []
    for e in record["exercises"]:
        peaks = [r["peak_deg"] for r in e["rep_details"]]
        rows.append(
            MeasurementRow(
                f"exercise:{e['name']}",
                "both",
                max(peaks) if peaks else None,
                sum(peaks) / len(peaks) if peaks else None,
                None,
                e["reps"],
                tuple(e["form_faults"]),
            )
        )
    return rows


def _store(history: History, kind: str, record: dict[str, Any], rows: list[MeasurementRow], topic: str) -> int | None:
    """Add a written result once: a session already stored (same patient, kind, start and source) keeps
    its id. Returns the session id, or None when there was nothing to store."""
    patient, started, source = record["patient"], record["started_at"], record["source"]["source"]
    existing = history.find_session(patient, kind, started, source)
    if existing is not None or not rows:
        return existing
    details = {
        "started_at": started,
        ("protocol" if kind == "measure" else "program"): topic,
        "model_variant": (record.get("model") or {}).get("variant", UNRECORDED_MODEL),
    }
    return history.add_session(patient, kind, source, details, rows, record.get("romcam_version", ""))


def _model_variant(details_json: str) -> str:
    """The model variant a stored session records; ``UNRECORDED_MODEL`` for one stored without it."""
    try:
        details = json.loads(details_json)
    except json.JSONDecodeError:
        return UNRECORDED_MODEL
    return str(details.get("model_variant", UNRECORDED_MODEL)) if isinstance(details, dict) else UNRECORDED_MODEL


def store_measurement(history: History, measurement: dict[str, Any]) -> int | None:
    """Store a ``measure`` result (the content of ``measurement.json``); see ``_store``."""
    return _store(history, "measure", measurement, _measurement_rows(measurement), measurement["protocol"]["name"])


def store_exercise_session(history: History, record: dict[str, Any]) -> int | None:
    """Store an ``exercise`` session (the content of ``session.json``); see ``_store``."""
    return _store(history, "exercise", record, _exercise_rows(record), record["program"])


def _read_result_file(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; ``RomcamError`` when it is missing, unreadable or not an object."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RomcamError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RomcamError(f"cannot read {path}: {exc}") from exc
    if not isinstance(record, dict):
        raise RomcamError(f"{path} holds no JSON object")
    return record


def import_result_file(history: History, path: Path) -> tuple[str, int | None, bool]:
    """Add a ``measurement.json`` or ``session.json`` written earlier (e.g. while the history file could not
    be used). Returns (patient, session id, whether it was new); ``RomcamError`` for a file that is not one."""
    record = _read_result_file(path)
    if not ("results" in record or "exercises" in record):
        raise RomcamError(f"{path} is neither a measure result (measurement.json) nor an exercise session.json")
    if not record.get("patient"):
        raise RomcamError(f"{path} has no patient ID (it was recorded without --patient); nothing to add")
    kind = "measure" if "results" in record else "exercise"
    store = store_measurement if kind == "measure" else store_exercise_session
    try:
        before = history.find_session(record["patient"], kind, record["started_at"], record["source"]["source"])
        session_id = before if before is not None else store(history, record)
    except (KeyError, TypeError) as exc:
        raise RomcamError(f"{path} lacks the field {exc} that a {kind} result has; not imported") from exc
    return record["patient"], session_id, before is None and session_id is not None
