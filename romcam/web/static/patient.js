// romcam patient page: the history of one patient, a trend per protocol with normal value and MDC band.
"use strict";

const $ = (id) => document.getElementById(id);

async function init() {
  const id = romcam.query.get("id") || "";
  $("title").textContent = `Patient ${id}`;
  $("measure-link").href = `/measure?patient=${encodeURIComponent(id)}`;
  $("exercise-link").href = `/exercise?patient=${encodeURIComponent(id)}`;
  const data = await romcam.api(`/api/patients/${encodeURIComponent(id)}/history`);
  $("trend").src = `/api/patients/${encodeURIComponent(id)}/trend.png`;
  const previous = {};
  const rows = data.points.map((p) => {
    const ref = data.protocols[p.protocol] || {};
    const key = `${p.protocol}/${p.side}`;
    let change = "–";
    if (p.peak_deg !== null && previous[key] !== undefined) {
      const d = p.peak_deg - previous[key];
      const real = ref.change_deg !== undefined && Math.abs(d) > ref.change_deg;
      change = `${d >= 0 ? "+" : ""}${d.toFixed(1)}°${real ? "" : " (within error)"}`;
    }
    if (p.peak_deg !== null) previous[key] = p.peak_deg;
    return romcam.el("tr", {}, romcam.el("td", { text: romcam.localTime(p.started_at) }),
      romcam.el("td", { text: ref.title || p.protocol }), romcam.el("td", { text: p.side }),
      romcam.el("td", { class: "num", text: p.peak_deg === null ? "not measured" : romcam.deg(p.peak_deg, 1) }),
      romcam.el("td", { class: "num", text: romcam.deg(ref.normal_deg) }), romcam.el("td", { class: "num", text: change }),
      romcam.el("td", { text: p.flags || "" }));
  });
  $("rows").replaceChildren(...rows);
  const saved = await romcam.api(`/api/results?patient=${encodeURIComponent(id)}`);
  $("results").replaceChildren(...saved.results.map((r) => {
    const name = r.report ? "report.html" : r.kind === "session" ? "session.json" : "measurement.json";
    const link = romcam.el("a", { href: `/results/${encodeURIComponent(r.folder)}/${name}`, target: "_blank", text: r.report ? "report" : "data" });
    return romcam.el("tr", {}, romcam.el("td", { text: romcam.localTime(r.started_at) }), romcam.el("td", { text: r.kind }), romcam.el("td", {}, link));
  }));
  $("legend").textContent = "A change within the protocol's minimal detectable change (the shaded band in the trend) is not a measured change.";
}
init().catch((err) => { $("error").textContent = err.message; });
