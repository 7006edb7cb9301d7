// romcam measure page: the protocol of `romcam measure` through the webcam, with its guidance.
"use strict";

const $ = (id) => document.getElementById(id);
let link = null, speech = true, lastInstruction = "", gradeP95 = {};

async function loadProtocols() {
  const catalog = await romcam.api("/api/catalog");
  gradeP95 = catalog.grade_p95_deg;
  for (const p of catalog.protocols) $("protocol").append(romcam.el("option", { value: p.name, text: `${p.title} (${p.view} view)` }));
  const q = romcam.query;
  if (q.get("protocol")) $("protocol").value = q.get("protocol");
  if (q.get("patient")) $("patient").value = q.get("patient");
  if (q.get("side")) $("side").value = q.get("side");
}

function showState(s) {
  const working = s.sides.find((r) => r.trials_done < s.trials_needed);
  romcam.drawSkeleton($("overlay"), s.landmarks, working ? working.side : null);
  $("title").textContent = s.protocol;
  $("instruction").textContent = s.all_done ? "All trials done: press Finish." : s.instruction;
  if (s.instruction !== lastInstruction) romcam.speak(s.all_done ? "All trials done" : s.instruction, speech);
  lastInstruction = s.instruction;
  const rows = s.sides.map((r) => {
    const value = r.value_deg === null ? "–" : `${r.value_deg.toFixed(0)}°${r.doubt ? "?" : ""}`;
    const row = romcam.el("div", { class: "trial-row" },
      romcam.el("span", { class: `side-tag ${r.side}`, text: r.side }), ` trial ${r.trial} of ${s.trials_needed}  `,
      romcam.el("span", { class: r.doubt ? "doubt" : "", text: value }));
    if (r.held) row.append(" ", romcam.el("span", { class: "held", text: "✓ held" }));
    if (r.doubt) row.append(romcam.el("div", { class: "doubt", text: r.doubt }));
    return row;
  });
  $("sides").replaceChildren(...rows);
  $("normal").textContent = `normal: ${s.normal_deg.toFixed(0)}°`;
}

function trustWords(grade) {
  const p95 = gradeP95[grade];
  return p95 === undefined ? `grade ${grade}: error may exceed 20°, not a value to record`
    : `grade ${grade}: within ${p95}° on 95 % of frames in tests against known angles`;
}

function showResult(m) {
  $("session").classList.add("hidden");
  $("result").classList.remove("hidden");
  $("result-title").textContent = m.protocol.title;
  const rows = m.results.map((r) => romcam.el("tr", {},
    romcam.el("td", { text: r.side }),
    romcam.el("td", { class: "num", text: r.peak_deg === null ? "not measured" : romcam.deg(r.peak_deg, 1) }),
    romcam.el("td", { class: "num", text: romcam.deg(r.normal_deg) }),
    romcam.el("td", { text: `${r.trials.filter((t) => t.used).length} used of ${r.trials.length}` }),
    romcam.el("td", { text: r.note || trustWords(r.confidence.grade) })));
  $("result-rows").replaceChildren(...rows);
  $("history-error").textContent = m.history_error || "";
  $("model-note").textContent = m.model && m.model.note ? `Pose model: ${m.model.note}.` : "";
  $("report-link").href = `/results/${encodeURIComponent(m.folder)}/report.html`;
  window.romcamResult = m;
}

function start() {
  const params = new URLSearchParams({ protocol: $("protocol").value, side: $("side").value });
  speech = $("speech").value === "1";
  $("speak").textContent = `Speech: ${speech ? "on" : "off"}`;
  link = startLivePage("/ws/measure", params, showState, showResult);
}

$("start").addEventListener("click", start);
$("finish").addEventListener("click", () => link.stop());
$("speak").addEventListener("click", () => { speech = !speech; $("speak").textContent = `Speech: ${speech ? "on" : "off"}`; });
loadProtocols().catch((err) => { $("setup-error").textContent = err.message; });
