// romcam browser app: the webcam -> WebSocket -> state loop shared by the exercise and measure pages.
// At most MAX_IN_FLIGHT frames are on their way: when the server falls behind, frames are skipped, never queued.
"use strict";

const MAX_IN_FLIGHT = 2;
const JPEG_QUALITY = 0.92;

class LiveLink {
  constructor({ path, params, video, onState, onSaved, onError }) {
    Object.assign(this, { path, params, video, onState, onSaved, onError });
    this.paused = false; this.stopped = false; this.pausedMs = 0; this.pauseStarted = 0;
    this.captured = new Map();  // frame time (ms) -> wall time at capture, for capture-to-overlay latency
    this.latencies = []; this.processed = 0; this.firstStateAt = 0; this.lastT = -1;
  }

  async start() {
    this.stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    this.video.srcObject = this.stream;
    await this.video.play();
    const w = this.video.videoWidth, h = this.video.videoHeight;
    this.video.parentElement.style.setProperty("--aspect", String(w / h));
    this.canvas = document.createElement("canvas");
    this.canvas.width = w; this.canvas.height = h;
    this.ctx = this.canvas.getContext("2d");
    this.t0 = performance.now();
    this.ws = new WebSocket(romcam.wsUrl(this.path, this.params));
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => { this.ws.send(JSON.stringify({ type: "start", width: w, height: h })); this.pump(); };
    // a frame the server skipped (a newer one replaced it) is answered by the newer one's state; should none come
    // for 2 s, start again rather than wait
    this.watchdog = setInterval(() => {
      if (this.captured.size && performance.now() - Math.max(...this.captured.values()) > 2000) {
        this.captured.clear(); this.pump();
      }
    }, 500);
    this.ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.ws.onclose = () => {
      if (!this.saved && !this.failed) this.onError("the connection to romcam closed", true);
      this.release();
    };
  }

  now(at) { return at - this.t0 - this.pausedMs; }

  // resolves at the next new picture of the camera (never the same picture twice) with its capture time on the
  // performance.now() clock: the camera's own time where the browser gives it, so the filter sees true intervals
  nextPicture() {
    if ("requestVideoFrameCallback" in this.video) {
      return new Promise((resolve) => this.video.requestVideoFrameCallback((now, meta) => resolve(meta.captureTime || now)));
    }
    return new Promise((resolve) => setTimeout(() => resolve(performance.now()), 33));
  }

  async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try { await this.pumpFrames(); } finally { this.pumping = false; }
  }

  async pumpFrames() {
    while (!this.stopped && !this.paused && this.captured.size < MAX_IN_FLIGHT && this.ws.readyState === WebSocket.OPEN) {
      const capturedAt = await this.nextPicture();
      if (this.stopped || this.paused || this.ws.readyState !== WebSocket.OPEN) return;
      const t = Math.max(this.now(capturedAt), this.lastT + 0.001, 0);
      this.lastT = t;
      this.ctx.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
      this.captured.set(t, capturedAt);
      const blob = await new Promise((resolve) => this.canvas.toBlob(resolve, "image/jpeg", JPEG_QUALITY));
      const message = new Uint8Array(8 + blob.size);
      new DataView(message.buffer).setFloat64(0, t, true);
      message.set(new Uint8Array(await blob.arrayBuffer()), 8);
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(message);
    }
  }

  receive(message) {
    if (message.type === "state") {
      this.processed += 1;
      this.serverSkipped = message.dropped || 0;
      if (!this.firstStateAt) this.firstStateAt = performance.now();
      const at = this.captured.get(message.t_ms);
      for (const t of this.captured.keys()) if (t <= message.t_ms) this.captured.delete(t);
      this.onState(message);  // the overlay is drawn here: latency is capture to drawn overlay
      if (at !== undefined) this.latencies.push(performance.now() - at);
      this.pump();
    } else if (message.type === "saved") {
      this.saved = true; this.onSaved(message.record); this.release();
    } else if (message.type === "error") {
      this.failed = this.failed || message.fatal;
      this.onError(message.message, message.fatal, message.folder);
      if (!message.fatal) { this.captured.clear(); this.pump(); }
    }
  }

  pause() {
    if (this.paused) { this.pausedMs += performance.now() - this.pauseStarted; this.paused = false; this.pump(); }
    else { this.paused = true; this.pauseStarted = performance.now(); }
    return this.paused;
  }

  stop() {
    this.stopped = true;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "stop" }));
  }

  release() {
    clearInterval(this.watchdog);
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
  }

  stats() {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const seconds = this.firstStateAt ? (performance.now() - this.firstStateAt) / 1000 : 0;
    return {
      processed: this.processed,
      server_skipped: this.serverSkipped || 0,
      fps: seconds > 0 ? (this.processed - 1) / seconds : 0,
      latency_ms_median: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null,
      latency_ms_p95: sorted.length ? sorted[Math.floor(sorted.length * 0.95)] : null,
    };
  }
}

// Starts a live page's session from its set-up form (the elements both live pages share by id) and returns the link.
function startLivePage(path, params, onState, onSaved) {
  const byId = (id) => document.getElementById(id);
  const patient = byId("patient").value.trim();
  if (patient) params.set("patient", patient);
  byId("patient-line").textContent = patient ? `patient ${patient}` : "";
  byId("setup").classList.add("hidden");
  byId("session").classList.remove("hidden");
  const link = new LiveLink({
    path, params, video: byId("video"), onState, onSaved,
    onError: (text, fatal, folder) => {
      byId("session-error").textContent = text;
      if (fatal && folder) {  // the session ended without a value, but what was measured is saved and says why
        const file = path.endsWith("measure") ? "report.html" : "session.json";
        const href = `/results/${encodeURIComponent(folder)}/${file}`;
        byId("session-error").append(" ", romcam.el("a", { href, target: "_blank", text: `Open ${file}` }));
      }
    },
  });
  window.romcamLink = link;
  link.start().catch((err) => { byId("session-error").textContent = `camera: ${err.message}`; });
  return link;
}
