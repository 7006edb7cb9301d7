"""report.html: a self-contained measurement report (tables, peak frames, trend), every string escaped."""

from __future__ import annotations

import base64
import html
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from romcam.fileio import write_text_atomic
from romcam.output.words import FLAG_MEANINGS, flag_thresholds, trust_words
from romcam.results import FlagCode

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.35em .7em;text-align:left}
th{background:#f2f2f2} .flag{color:#b00020;font-weight:600} .ok{color:#1b7f3b} .muted{color:#666;font-size:.9em}
img{max-width:320px;margin:.3em;border:1px solid #ccc}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _deg(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}°"


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _trend_png(m: dict[str, Any]) -> bytes | None:
    """This protocol's trend over the patient's sessions, with its normal value and minimal-detectable-change band."""
    from romcam.output.plot import TrendReference, history_png

    protocol = m["protocol"]
    points = [SimpleNamespace(**p) for p in m.get("history", [])]
    reference = TrendReference(protocol["title"], protocol.get("normal_deg"), protocol.get("change_deg"))
    return history_png(points, {protocol["name"]: reference}, f"{protocol['title']}: this patient's sessions")


def _side_rows(results: list[dict[str, Any]], variant: str) -> str:
    rows = []
    for r in results:
        change = r.get("change") or {}
        flags = "".join(f'<div class="flag">{_e(f)}</div>' for f in r["flags"]) or '<span class="ok">none</span>'
        pct = "–" if r["percent_of_normal"] is None else f"{r['percent_of_normal']:.0f}%"
        rows.append(
            "<tr>"
            f"<td>{_e(r['side'])}</td>"
            f"<td>{', '.join(_deg(t) for t in r['trials_deg']) or '–'}</td>"
            f"<td><b>{_deg(r['peak_deg'])}</b></td><td>{_deg(r['mean_deg'])}</td>"
            f"<td>{_deg(r['hold_sd_deg'])}</td><td>{_e(trust_words(r, variant))}</td>"
            f"<td>{pct} of {_deg(r['normal_deg'])}</td>"
            f"<td>{_e(change.get('interpretation', 'first measurement'))}</td><td>{flags}</td>"
            "</tr>"
        )
    return "\n".join(rows)


def local_time_words(started_at_utc: str) -> str:
    """A stored UTC ISO time as this machine's local date and time."""
    moment = datetime.fromisoformat(started_at_utc)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%d %b %Y, %H:%M (%Z)")


def _flag_legend(results: list[dict[str, Any]]) -> str:
    """Each per-frame flag code that kept a trial out, with its meaning and threshold."""
    codes = {c for r in results for t in r.get("trials", []) for c in t.get("flag_codes", [])}
    if not codes:
        return ""
    thresholds = flag_thresholds()
    items = "".join(
        f"<li><b>{_e(code)}</b>: {_e(FLAG_MEANINGS[FlagCode(code)])} ({_e(thresholds[FlagCode(code)])})</li>"
        for code in sorted(codes)
    )
    return f'<p class="muted">Flags that kept a trial out:</p><ul class="muted">{items}</ul>'


def render_report(m: dict[str, Any], out_dir: Path) -> str:
    """The report as one HTML string; images are embedded, so the file stands alone."""
    protocol = m["protocol"]
    results = m["results"]
    images = []
    for r in results:
        for name in r.get("evidence", []):
            path = out_dir / name
            if path.is_file():
                images.append(
                    f'<figure style="display:inline-block"><img alt="{_e(name)}" '
                    f'src="{_png_data_uri(path.read_bytes())}"><figcaption class="muted">{_e(name)}'
                    "</figcaption></figure>"
                )
    trend = _trend_png(m)
    asym = m.get("asymmetry")
    asym_html = (
        ""
        if not asym
        else f"<p>Left − right: <b>{asym['left_minus_right_deg']:+.1f}°</b> "
        f"({asym['percent']:.0f}% of the larger side).</p>"
    )
    first = results[0] if results else {}
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>romcam report: {_e(protocol["title"])}</title>
<style>{CSS}</style></head><body>
<h1>{_e(protocol["title"])}</h1>
<p>Patient <b>{_e(m.get("patient") or "not recorded")}</b> · {_e(local_time_words(m["started_at"]))} ·
source <code>{_e(Path(str(m["source"]["source"])).name)}</code> · camera view needed: {_e(protocol["view"])}</p>
<h2>Results</h2>
<table><tr><th>side</th><th>trials (each its hold mean)</th><th>reported (best trial)</th><th>mean</th>
<th>hold SD</th><th>how far to trust it</th><th>normal (AAOS)</th><th>change since last time</th><th>flags</th></tr>
{_side_rows(results, m["model"]["variant"])}
</table>
{_model_note(m["model"])}
{asym_html}
<p class="muted">Normal value: {_e(first.get("normal_source"))}. Change is judged against
{_e(protocol["change_deg"])}° ({_e(protocol["change_source"])}). The reported value of a trial is the mean of its
end-range hold (angle within ±{_e(protocol["hold_tolerance_deg"])}° for ≥ {_e(protocol["hold_min_s"])} s), or its
maximum where no hold was captured. Confidence grades the weakest of landmark visibility, camera view, jitter
during the hold and (with a neutral capture) foreshortening of the moving segment: A trust it, B usable, C read
with care, D do not use. Each peak frame shows that frame's angle ("this frame"); the table's trial values are
hold means, so they can differ by a degree or two.</p>
{_flag_legend(results)}
<h2>Peak frames</h2>
{"".join(images) or '<p class="muted">none</p>'}
<h2>Trend</h2>
{
        f'<img alt="trend" style="max-width:640px" src="{_png_data_uri(trend)}">'
        if trend
        else '<p class="muted">No earlier sessions (give --patient to keep a history).</p>'
    }
<p class="muted">romcam {_e(m["romcam_version"])} · model {_e(m["model"]["variant"])}
({_e(m["model"]["sha256"][:12])}…) · filter {_e(m["filter"]["kind"])} · the video never leaves this computer.</p>
</body></html>
"""


def _model_note(model: dict[str, Any]) -> str:
    """Why the model is not the one the protocol prefers, if it is not (a paragraph, or nothing)."""
    return f'<p class="flag">Pose model: {_e(model["note"])}.</p>' if model.get("note") else ""


def write_report(path: Path, measurement: dict[str, Any], out_dir: Path) -> None:
    write_text_atomic(path, render_report(measurement, out_dir))
