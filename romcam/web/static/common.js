// romcam browser app: shared helpers. Every value from the server is put into the page as text (never as HTML).
"use strict";

const romcam = {
  query: new URLSearchParams(location.search),

  async api(path, options = {}) {
    const response = await fetch(path, { credentials: "same-origin", ...options });
    const body = (response.headers.get("content-type") || "").includes("json") ? await response.json() : null;
    if (!response.ok) throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
    return body;
  },

  el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v; else if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  },

  deg(v, digits = 0) { return v === null || v === undefined ? "–" : `${Number(v).toFixed(digits)}°`; },

  localTime(iso) {
    if (!iso) return "–";
    const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  },

  wsUrl(path, params) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return `${scheme}://${location.host}${path}?${params.toString()}`;
  },

  // The skeleton: MediaPipe's 33 landmarks as fractions of the frame; left blue, right orange, centre white.
  BONES: [[11, 12], [11, 13], [13, 15], [12, 14], [14, 16], [11, 23], [12, 24], [23, 24], [23, 25], [25, 27],
          [27, 31], [27, 29], [24, 26], [26, 28], [28, 32], [28, 30], [0, 11], [0, 12]],

  drawSkeleton(canvas, landmarks, activeSide) {
    const rect = canvas.getBoundingClientRect();
    const scale = window.devicePixelRatio || 1;
    canvas.width = Math.round(rect.width * scale);
    canvas.height = Math.round(rect.height * scale);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!landmarks) return;
    const w = canvas.width, h = canvas.height, lw = Math.max(3, h / 160);
    const colour = (i) => (i === 0 ? "#ffffff" : i % 2 === 1 ? "#4ea8ff" : "#ff9f43");
    ctx.lineCap = "round";
    for (const [a, b] of romcam.BONES) {
      const p = landmarks[a], q = landmarks[b];
      if (!p || !q) continue;
      const side = a === 0 || (a % 2) !== (b % 2) ? 0 : a;
      const inUse = activeSide && side && ((activeSide === "left") === (side % 2 === 1));
      ctx.strokeStyle = side ? colour(side) : "#ffffff";
      ctx.lineWidth = inUse ? lw * 1.8 : lw;
      ctx.beginPath(); ctx.moveTo(p[0] * w, p[1] * h); ctx.lineTo(q[0] * w, q[1] * h); ctx.stroke();
    }
    for (let i = 11; i < 33; i++) {
      const p = landmarks[i];
      if (!p) continue;
      ctx.fillStyle = colour(i);
      ctx.beginPath(); ctx.arc(p[0] * w, p[1] * h, lw * 1.2, 0, 2 * Math.PI); ctx.fill();
    }
  },

  // A vertical gauge of the exercise's value (direction × angle) from gauge.bottom to gauge.top, the target zone
  // (gauge.target and above) in green, tick labels as joint angles (direction × value).
  drawGauge(svg, value, gauge, doubt) {
    const H = 440, W = 200, x = 96, top = 20, bottom = H - 20, barW = 50;
    const span = gauge.top - gauge.bottom;
    const y = (v) => bottom - (bottom - top) * Math.max(0, Math.min(1, (v - gauge.bottom) / span));
    const step = span > 120 ? 30 : span > 50 ? 15 : 10;
    const parts = [`<rect x="${x}" y="${top}" width="${barW}" height="${bottom - top}" fill="#262f37" stroke="#dde3e8" stroke-width="2"/>`,
      `<rect x="${x}" y="${y(gauge.top)}" width="${barW}" height="${y(gauge.target) - y(gauge.top)}" fill="#2f7a46"/>`,
      `<text x="${x + barW + 6}" y="${y(gauge.target) + 10}" fill="#5bd47a" font-size="30" font-weight="700">goal</text>`];
    for (let v = Math.ceil(gauge.bottom / step) * step; v <= gauge.top + 0.1; v += step) {
      parts.push(`<line x1="${x - 10}" x2="${x}" y1="${y(v)}" y2="${y(v)}" stroke="#dde3e8" stroke-width="2"/>`,
        `<text x="${x - 14}" y="${y(v) + 10}" fill="#dde3e8" font-size="30" text-anchor="end">${(gauge.direction * v + 0).toFixed(0)}°</text>`);
    }
    if (value !== null && value !== undefined) {
      parts.push(`<rect x="${x + 6}" y="${y(value)}" width="${barW - 12}" height="${bottom - y(value)}" fill="${doubt ? "#8a949c" : "#ffd166"}"/>`,
        `<line x1="${x - 4}" x2="${x + barW + 4}" y1="${y(value)}" y2="${y(value)}" stroke="#fff" stroke-width="4"/>`);
    }
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.innerHTML = parts.join("");  // numbers only: built here, not from server text
  },

  speak(text, enabled) {
    if (!enabled || !text || !("speechSynthesis" in window)) return;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
  },
};
