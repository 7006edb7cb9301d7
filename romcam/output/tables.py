"""angles.csv and summary.json."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np


def write_angles_csv(path: Path, t_s: np.ndarray, angles_deg: dict[str, np.ndarray]) -> None:
    """``time_s`` then one column per angle in degrees; NaN is written as ``nan``."""
    names = list(angles_deg)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["time_s", *names])
        columns = np.column_stack([t_s, *(angles_deg[n] for n in names)]) if len(t_s) else np.empty((0, 1))
        for row in columns:
            writer.writerow([f"{row[0]:.6f}", *(("nan" if math.isnan(v) else f"{v:.3f}") for v in row[1:])])


def read_angles_csv(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Inverse of ``write_angles_csv``."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], np.array(rows[1:], dtype=float).reshape(-1, len(rows[0]))
    return body[:, 0], {name: body[:, i] for i, name in enumerate(header) if i > 0}


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, Path):
        return str(value)
    return value


def to_json(data: dict[str, Any]) -> str:
    """Strict JSON (NaN and infinities become null)."""
    return json.dumps(_json_safe(data), indent=2, allow_nan=False)


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(to_json(data) + "\n")
