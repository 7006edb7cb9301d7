// romcam therapist page: patients, uploaded-video measurements and batches, saved results.
"use strict";

const $ = (id) => document.getElementById(id);
const resultUrl = (folder, name) => `/results/${encodeURIComponent(folder)}/${name.split("/").map(encodeURIComponent).join("/")}`;

async function loadPatients() {
  try {
    const data = await romcam.api(`/api/patients?q=${encodeURIComponent($("search").value.trim())}`);
    $("patients").replaceChildren(...data.patients.map((p) => romcam.el("tr", {},
      romcam.el("td", {}, romcam.el("a", { href: `/patient?id=${encodeURIComponent(p.patient_id)}`, text: p.patient_id })),
      romcam.el("td", { class: "num", text: p.sessions }), romcam.el("td", { text: romcam.localTime(p.last_started_at) }))));
    $("patients-error").textContent = data.patients.length ? "" : "No patient found.";
  } catch (err) { $("patients-error").textContent = err.message; }
}

async function loadResults() {
  const data = await romcam.api("/api/results");
  $("results").replaceChildren(...data.results.map((r) => {
    const open = r.report ? romcam.el("a", { href: resultUrl(r.folder, "report.html"), target: "_blank", text: "report" })
      : r.kind === "batch" ? romcam.el("a", { href: resultUrl(r.folder, "summary.csv"), text: "summary.csv" })
      : romcam.el("a", { href: resultUrl(r.folder, r.kind === "session" ? "session.json" : "measurement.json"), text: "data" });
    return romcam.el("tr", {}, romcam.el("td", { text: r.folder }), romcam.el("td", { text: r.kind }), romcam.el("td", {}, open));
  }));
}

function parseCsv(text) {
  const rows = [];
  for (const line of text.trim().split(/\r?\n/)) {
    const cells = []; let cell = "", quoted = false;
    for (let i = 0; i < line.length; i++) {
      const c = line[i];
      if (quoted) { if (c === '"' && line[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c; }
      else if (c === '"') quoted = true; else if (c === ",") { cells.push(cell); cell = ""; } else cell += c;
    }
    cells.push(cell); rows.push(cells);
  }
  return rows;
}

async function showJobResult(job, box) {
  if (job.kind === "measure") {
    box.append(romcam.el("p", {}, romcam.el("a", { href: resultUrl(job.folder, "report.html"), target: "_blank", text: "Open the report" })));
    return;
  }
  const text = await (await fetch(resultUrl(job.folder, "summary.csv"))).text();
  const [head, ...rows] = parseCsv(text);
  const keep = ["output", "angle", "min_deg", "max_deg", "range_deg", "valid_fraction", "flags"].map((c) => head.indexOf(c)).filter((i) => i >= 0);
  const table = romcam.el("table", { class: "batch-summary" },
    romcam.el("thead", {}, romcam.el("tr", {}, ...keep.map((i) => romcam.el("th", { text: head[i] })))),
    romcam.el("tbody", {}, ...rows.map((r) => romcam.el("tr", {}, ...keep.map((i) => romcam.el("td", { text: r[i] }))))));
  const downloads = job.files.filter((f) => /\.(csv|mot|trc)$/.test(f) && !f.startsWith("input/"));
  box.append(table, romcam.el("p", { class: "muted", text: "Downloads:" }),
    romcam.el("ul", {}, ...downloads.map((f) => romcam.el("li", {}, romcam.el("a", { href: resultUrl(job.folder, f), download: "", text: f })))));
}

async function runJob(form, kind, box) {
  const data = new FormData(form);
  const patient = (data.get("patient") || "").trim();
  data.delete("patient");
  const params = new URLSearchParams({ kind });
  if (patient) params.set("patient", patient);
  box.replaceChildren(romcam.el("progress", { max: "1", value: "0" }), romcam.el("p", { class: "muted", text: "uploading…" }));
  let job;
  try { job = await romcam.api(`/api/jobs?${params}`, { method: "POST", body: data }); }
  catch (err) { box.replaceChildren(romcam.el("p", { class: "error", text: err.message })); return; }
  while (job.state === "queued" || job.state === "running") {
    box.querySelector("progress").value = job.progress;
    box.querySelector("p").textContent = `${job.state}… ${(100 * job.progress).toFixed(0)} %`;
    await new Promise((resolve) => setTimeout(resolve, 700));
    job = await romcam.api(`/api/jobs/${job.job_id}`);
  }
  box.replaceChildren(romcam.el("p", { class: job.state === "done" ? "" : "error", text: `${job.state}${job.message ? ": " + job.message : ""}` }));
  if (job.state === "done") await showJobResult(job, box);
  else if (job.files.includes("report.html")) {  // no value, but the report says why
    box.append(romcam.el("p", {}, romcam.el("a", { href: resultUrl(job.folder, "report.html"), target: "_blank", text: "Open the report" })));
  }
  window.romcamJob = job;
  loadResults(); loadPatients();
}

async function init() {
  const catalog = await romcam.api("/api/catalog");
  for (const p of catalog.protocols) $("protocol").append(romcam.el("option", { value: p.name, text: p.title }));
  $("search").addEventListener("input", loadPatients);
  $("measure-form").addEventListener("submit", (e) => { e.preventDefault(); runJob(e.target, "measure", $("measure-job")); });
  $("batch-form").addEventListener("submit", (e) => { e.preventDefault(); runJob(e.target, "batch", $("batch-job")); });
  await Promise.all([loadPatients(), loadResults()]);
}
init().catch((err) => { $("patients-error").textContent = err.message; });
