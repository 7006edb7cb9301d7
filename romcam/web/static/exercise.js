// romcam exercise page: the same live session as `romcam exercise`, drawn large.
"use strict";

const $ = (id) => document.getElementById(id);
let link = null, speech = true, lastCue = "", lastRest = false;

async function loadChoices() {
  const catalog = await romcam.api("/api/catalog");
  const choice = $("choice");
  for (const p of catalog.programs) choice.append(romcam.el("option", { value: `program:${p.name}`, text: `Program: ${p.title}` }));
  for (const e of catalog.exercises) choice.append(romcam.el("option", { value: `exercise:${e.name}`, text: e.title }));
  const q = romcam.query;
  if (q.get("program")) choice.value = `program:${q.get("program")}`;
  else if (q.get("exercise")) choice.value = `exercise:${q.get("exercise")}`;
  if (q.get("patient")) $("patient").value = q.get("patient");
  if (q.get("side")) $("side").value = q.get("side");
}

function showState(s) {
  romcam.drawSkeleton($("overlay"), s.landmarks, s.side);
  $("title").textContent = s.exercise;
  $("item").textContent = s.items > 1 ? `exercise ${Math.min(s.item, s.items)} of ${s.items}` : "";
  const tag = $("side-tag");
  tag.textContent = s.side === "both" ? "both sides" : `${s.side} side`;
  tag.className = `side-tag ${s.side}`;
  $("reps").textContent = s.reps_per_set ? s.reps_in_set : s.reps_total;
  $("reps-of").textContent = s.reps_per_set ? `of ${s.reps_per_set} reps` : "reps";
  $("set-line").textContent = s.sets > 1 ? `set ${s.set} of ${s.sets}` : "";
  romcam.drawGauge($("gauge"), s.value, s.gauge, s.doubt);
  $("angle").textContent = s.angle_deg === null ? "step into view" : `${s.angle_deg.toFixed(0)}°${s.doubt ? "?" : ""}`;
  $("angle").className = s.doubt ? "angle-now doubt" : "angle-now";
  $("target").textContent = `target ${s.target_deg.toFixed(0)}°`;
  $("doubt").textContent = s.doubt ? `? ${s.doubt}` : "";
  $("last-peak").textContent = s.last_peak_deg === null ? "" : `last rep: ${s.last_peak_deg.toFixed(0)}°`;
  $("hold").textContent = s.hold_s === null ? "" : `hold ${s.hold_s.toFixed(1)} / ${s.hold_target_s.toFixed(0)} s`;
  const resting = s.rest_left_s > 0;
  $("rest").textContent = s.done && !resting ? "Well done!" : resting ? `Rest ${Math.ceil(s.rest_left_s)} s` : "";
  if (resting && !lastRest) romcam.speak("Rest", speech);
  lastRest = resting;
  $("cue").textContent = s.cue;
  if (s.cue && s.cue !== lastCue) romcam.speak(s.cue, speech);
  lastCue = s.cue;
  if (s.done && !resting && link && !link.stopped) link.stop();
}

function showSummary(record) {
  $("session").classList.add("hidden");
  $("summary").classList.remove("hidden");
  const rows = $("summary-rows");
  rows.replaceChildren();
  for (const e of record.exercises) {
    const peaks = e.rep_details.map((r) => r.peak_deg);
    const reached = e.rep_details.filter((r) => r.reached_target).length;
    const faults = Object.entries(e.form_faults).map(([k, n]) => `${k} ×${n}`).join(", ") || "good";
    rows.append(romcam.el("tr", {},
      romcam.el("td", { text: e.title }), romcam.el("td", { class: "num", text: e.reps }),
      romcam.el("td", { class: "num", text: reached }),
      romcam.el("td", { class: "num", text: peaks.length ? peaks.map((v) => romcam.deg(v)).join(" ") : "–" }),
      romcam.el("td", { class: "num", text: e.prescribed.hold_s ? e.holds_achieved : "–" }),
      romcam.el("td", { text: faults })));
  }
  $("saved-where").textContent = record.patient ? `Saved for patient ${record.patient}.` : "Saved (no patient ID given, so not in a history).";
  $("history-error").textContent = record.history_error || "";
  window.romcamResult = record;
  romcam.speak("Well done", speech);
}

function start() {
  const [kind, name] = $("choice").value.split(":");
  const params = new URLSearchParams({ [kind]: name });
  if ($("side").value) params.set("side", $("side").value);
  speech = $("speech").value === "1";
  $("speak").textContent = `Speech: ${speech ? "on" : "off"}`;
  link = startLivePage("/ws/exercise", params, showState, showSummary);
}

$("start").addEventListener("click", start);
$("pause").addEventListener("click", () => { $("pause").textContent = link.pause() ? "Resume" : "Pause"; });
$("stop").addEventListener("click", () => link.stop());
$("speak").addEventListener("click", () => { speech = !speech; $("speak").textContent = `Speech: ${speech ? "on" : "off"}`; });
loadChoices().catch((err) => { $("setup-error").textContent = err.message; });
