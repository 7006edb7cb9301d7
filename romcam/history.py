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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from romcam.errors import RomcamError

ENV_DB = "ROMCAM_DB"

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
    """A past measurement, for trends and change."""

    session_id: int
    started_at: str
    protocol: str
    side: str
    peak_deg: float | None
    mean_deg: float | None
    flags: str


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations the file lacks, each in its own transaction; returns the final version."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise RomcamError(f"the history file has schema {version}, newer than this romcam ({SCHEMA_VERSION})")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        with transaction(conn):
            for statement in MIGRATIONS[target - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
    return SCHEMA_VERSION


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


class History:
    """The history file; open with ``History.open(path)`` and use as a context manager."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn, self.path = conn, path

    @classmethod
    def open(cls, path: Path | None = None, timeout_s: float = 30.0) -> History:
        path = path or default_db_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise RomcamError(f"cannot use the history file {path}: {exc}") from exc
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
        with transaction(self.conn) as conn:
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
            "SELECT s.id, s.started_at, m.protocol, m.side, m.peak_deg, m.mean_deg, m.flags, s.patient_id "
            "FROM measurements m JOIN sessions s ON s.id = m.session_id WHERE 1=1"
        )
        params: list[str] = []
        if patient_id is not None:
            query += " AND s.patient_id = ?"
            params.append(patient_id)
        if protocol is not None:
            query += " AND m.protocol = ?"
            params.append(protocol)
        rows = self.conn.execute(query + " ORDER BY s.started_at, s.id, m.side", params).fetchall()
        return [HistoryPoint(*r[:7]) for r in rows]

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
        rows = self.conn.execute(
            "SELECT s.patient_id, s.id, s.kind, s.started_at, m.protocol, m.side, m.peak_deg, m.mean_deg, "
            "m.hold_sd_deg, m.trials, m.flags FROM measurements m JOIN sessions s ON s.id = m.session_id "
            "ORDER BY s.patient_id, s.started_at, s.id, m.protocol, m.side"
        ).fetchall()
        with open(path, "w", newline="") as f:
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
