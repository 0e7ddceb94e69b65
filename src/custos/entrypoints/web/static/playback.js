// Playback: timelines of recorded ranges and gaps, a purpose before playing, several cameras in
// sync. Each camera's segments go into one MediaSource at their wall-clock offset, so a video's
// currentTime is "seconds since the window's start" for every camera alike.
import { api, ApiError, can, el, fmtTime, fromLocalInput, label, showError, clearError, toLocalInput, T } from "./app.js";
import { showExport } from "./export_panel.js";

const form = document.getElementById("range-form");
const errorBox = document.getElementById("pb-error");
const rows = document.getElementById("timeline-rows");
const params = new URLSearchParams(location.search);
const grant = params.get("session") ? {
  id: Number(params.get("session")),
  cameras: params.get("cameras").split(",").map(Number),
  start: Date.parse(params.get("start")),
  end: Date.parse(params.get("end")),
} : null;
let cameras = [];
let view = null;        // {start, end} in ms: the window the timelines show
let timelines = {};     // camera id -> {segments, gaps}
let holds = {};         // camera id -> evidence holds in force over the window
let players = [];
let session = null;
let dragging = false;

const ms = (iso) => Date.parse(iso);

/** A granted view: the locked fields show the grant's cameras and range (to the second), not
 * the default last half hour. */
function showGrant(sel) {
  const seconds = (t) => `${toLocalInput(new Date(t))}:${String(new Date(t).getSeconds()).padStart(2, "0")}`;
  for (const name of ["from", "to"]) form.elements[name].step = "1";
  form.elements.from.value = seconds(grant.start);
  form.elements.to.value = seconds(grant.end);
  const known = new Set([...sel.options].map((o) => Number(o.value)));
  for (const id of grant.cameras) if (!known.has(id)) sel.append(el("option", { value: id }, String(id)));
  for (const o of sel.options) o.selected = grant.cameras.includes(Number(o.value));
}
const pct = (t) => `${(100 * (t - view.start)) / (view.end - view.start)}%`;

function selectedCameras() {
  return [...document.getElementById("camera-select").selectedOptions].map((o) => Number(o.value));
}

// ---- timelines ----------------------------------------------------------------------------
async function showTimelines(ev) {
  ev?.preventDefault();
  clearError(errorBox);
  const ids = grant ? grant.cameras : selectedCameras();
  if (!ids.length) return showError(errorBox, new Error(T("playback.pick_cameras")));
  stopPlayers();
  view = grant ? { start: grant.start, end: grant.end }
    : { start: Date.parse(fromLocalInput(form.elements.from.value)), end: Date.parse(fromLocalInput(form.elements.to.value)) };
  const q = (id) => `start=${encodeURIComponent(new Date(view.start).toISOString())}&end=${encodeURIComponent(new Date(view.end).toISOString())}`;
  try {
    const results = await Promise.all(ids.map((id) => grant
      ? api("GET", `sessions/${grant.id}/segments?camera_id=${id}&${q(id)}`).then((segments) => ({ camera_id: id, segments, gaps: [] }))
      : api("GET", `cameras/${id}/segments?${q(id)}`)));
    timelines = Object.fromEntries(results.map((r) => [r.camera_id, r]));
  } catch (err) {
    return showError(errorBox, err);
  }
  holds = await holdsOver(ids);
  drawTimelines();
  document.getElementById("hold-legend").hidden = !Object.values(holds).some((l) => l.length);
  document.getElementById("timelines").hidden = false;
  document.getElementById("play").disabled = !Object.values(timelines).some((t) => t.segments.length);
  if (!grant) showExport(view, ids);  // a granted view exports through its request, not here
}

/** Evidence holds in force over the window, per camera. Only hold.manage may list them: anyone
 * else sees none (and a 403 or 404 is not an error of playback). */
async function holdsOver(ids) {
  if (!can("hold.manage")) return {};
  const now = Date.now();
  const keep = (h) => h.state !== "released" && (!h.expires_at || ms(h.expires_at) > now)
    && ms(h.start) < view.end && ms(h.end) > view.start;
  const lists = await Promise.all(ids.map((id) => api("GET", `holds?camera_id=${id}`).catch((err) => {
    if (!(err instanceof ApiError && [403, 404].includes(err.status))) showError(errorBox, err);
    return [];
  })));
  return Object.fromEntries(ids.map((id, i) => [id, lists[i].filter(keep)]));
}

function holdBand(h) {
  const a = Math.max(ms(h.start), view.start);
  const b = Math.min(ms(h.end), view.end);
  const why = T("playback.hold_title", {
    case: h.case_number, kind: label("enum.hold_kind", h.kind), from: fmtTime(h.start), to: fmtTime(h.end),
    expiry: h.expires_at ? fmtTime(h.expires_at) : T("holds.indefinite"),
  });
  return el("div", { class: "hold", title: why, dataset: { hold: h.id }, style: `left:${pct(a)};width:${pct(view.start + b - a)}` },
    el("span", {}, T("playback.hold_label", { case: h.case_number })));
}

function drawTimelines() {
  const name = Object.fromEntries(cameras.map((c) => [c.id, c.name]));
  rows.replaceChildren(...Object.values(timelines).map((tl) => {
    const bar = el("div", { class: "timeline", dataset: { camera: tl.camera_id } },
      tl.segments.map((s) => el("div", { class: "seg", title: `${fmtTime(s.start_at)} – ${fmtTime(s.end_at)}`,
        style: `left:${pct(Math.max(ms(s.start_at), view.start))};width:${pct(view.start + Math.min(ms(s.end_at), view.end) - Math.max(ms(s.start_at), view.start))}` })),
      tl.gaps.map((g) => {
        const a = Math.max(ms(g.start_at), view.start);
        const b = Math.min(g.end_at ? ms(g.end_at) : view.end, view.end);
        const why = `${T("playback.gap")}: ${label("enum.reason", g.reason)}${g.detail ? ` (${g.detail})` : ""}`;
        return el("div", { class: "gap", title: why, dataset: { reason: g.reason }, style: `left:${pct(a)};width:${pct(view.start + b - a)}` }, el("span", {}, label("enum.reason", g.reason)));
      }),
      (holds[tl.camera_id] || []).map(holdBand),
      el("div", { class: "cursor", hidden: true }),
      tl.segments.length ? null : el("span", { class: "muted" }, T("playback.no_segments")),
    );
    bar.addEventListener("mousedown", (e) => { dragging = true; scrub(bar, e); });
    bar.addEventListener("mousemove", (e) => { if (dragging) moveCursor(timeAt(bar, e)); });
    bar.addEventListener("mouseup", (e) => { dragging = false; scrub(bar, e); });
    return el("div", { class: "timeline-row" }, el("span", {}, `${tl.camera_id} · ${name[tl.camera_id] || ""}`), bar);
  }));
  document.getElementById("axis").replaceChildren(...[0, 1, 2, 3, 4].map((i) => el("span", {}, fmtTime(new Date(view.start + (i * (view.end - view.start)) / 4).toISOString()).slice(11))));
}

const timeAt = (bar, e) => {
  const r = bar.getBoundingClientRect();
  return view.start + ((e.clientX - r.left) / r.width) * (view.end - view.start);
};

function moveCursor(t) {
  for (const c of rows.querySelectorAll(".cursor")) { c.hidden = false; c.style.left = pct(t); }
  document.getElementById("clock").textContent = fmtTime(new Date(t).toISOString());
}

function scrub(bar, e) {
  const t = timeAt(bar, e);
  moveCursor(t);
  if (players.length && e.type === "mouseup") seek(t);
}

// ---- the purpose, then a registered session ----------------------------------------------------
/** Leaving the page ends its session, so the register gets an end time: a keepalive fetch
 * outlives the page (sendBeacon cannot send the X-Custos-UI header the cookie needs on a POST).
 * pagehide, not visibilitychange: switching tabs is not leaving, and a session ended then would
 * stop a playback the user comes back to. */
function endSession() {
  const id = session?.id ?? grant?.id;
  if (!id || ended.has(id)) return;
  ended.add(id);
  fetch(`/api/v1/sessions/${id}/end`, {
    method: "POST", keepalive: true, credentials: "same-origin", headers: { "X-Custos-UI": "1" },
  }).catch(() => {});
}
const ended = new Set();
window.addEventListener("pagehide", endSession);

async function askPurposeAndPlay() {
  if (grant) { session = { id: grant.id }; return startPlayers(); }
  const dialog = document.getElementById("purpose-dialog");
  const pf = document.getElementById("purpose-form");
  clearError(pf.querySelector("[data-errors]"));
  dialog.showModal();
  pf.onsubmit = async (e) => {
    e.preventDefault();
    const ids = Object.keys(timelines).map(Number);
    // Whole segments only: widen the range to the edges of the segments it touches, so no
    // segment needs cutting (a cut file is not fragmented and MSE cannot take it).
    const all = Object.values(timelines).flatMap((t) => t.segments);
    const start = Math.min(view.start, ...all.map((s) => ms(s.start_at)));
    const end = Math.max(view.end, ...all.map((s) => ms(s.end_at)));
    try {
      endSession();  // a new range is a new registered session: the previous one ends here
      session = await api("POST", "playback/sessions", {
        camera_ids: ids, start: new Date(start).toISOString(), end: new Date(end).toISOString(), purpose: pf.elements.purpose.value,
      });
    } catch (err) {
      return showError(pf.querySelector("[data-errors]"), err);
    }
    dialog.close();
    await startPlayers();
  };
}

// ---- players -----------------------------------------------------------------------------------
function codecOf(bytes) {
  const find = (s) => {
    const code = [...s].map((c) => c.charCodeAt(0));
    outer: for (let i = 0; i < Math.min(bytes.length, 4096) - 4; i++) {
      for (let j = 0; j < 4; j++) if (bytes[i + j] !== code[j]) continue outer;
      return i;
    }
    return -1;
  };
  const i = find("avcC");
  if (i >= 0) return `avc1.${[5, 6, 7].map((k) => bytes[i + k].toString(16).padStart(2, "0")).join("")}`;
  if (find("hvcC") >= 0) return "hvc1.1.6.L120.90";
  return "avc1.640028";
}

class Player {
  constructor(cameraId, segments) {
    this.cameraId = cameraId;
    this.segments = segments.filter((s) => !s.missing).sort((a, b) => ms(a.start_at) - ms(b.start_at));
    this.loaded = new Map();   // segment id -> promise
    this.video = el("video", { muted: true, playsinline: true, dataset: { camera: cameraId } });
    this.video.muted = true;
    this.ms = new MediaSource();
    this.video.src = URL.createObjectURL(this.ms);
    this.open = new Promise((r) => this.ms.addEventListener("sourceopen", r, { once: true }));
    this.chain = Promise.resolve();
    this.sb = null;
  }

  segmentAt(t) {
    return this.segments.find((s) => ms(s.end_at) > t) || null;  // containing t, or the next one
  }

  load(seg) {
    if (!this.loaded.has(seg.id)) {
      const fetched = fetch(`/api/v1/sessions/${session.id}/segments/${seg.id}/media`, { credentials: "same-origin" })
        .then((r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`); return r.arrayBuffer(); });
      const p = this.chain.then(async () => {
        const buf = new Uint8Array(await fetched);
        await this.open;
        if (!this.sb) {
          this.sb = this.ms.addSourceBuffer(`video/mp4; codecs="${codecOf(buf)}"`);
          this.sb.mode = "segments";
        }
        this.sb.timestampOffset = (ms(seg.start_at) - view.start) / 1000;
        await this.append(buf);
      });
      this.chain = p.catch(() => {});
      p.catch((err) => { this.loaded.delete(seg.id); showError(errorBox, new Error(T("playback.media_error", { reason: err.message || err }))); });
      this.loaded.set(seg.id, p);
    }
    return this.loaded.get(seg.id);
  }

  append(buf) {
    return new Promise((resolve, reject) => {
      const done = () => { this.sb.removeEventListener("error", fail); resolve(); };
      const fail = () => { this.sb.removeEventListener("updateend", done); reject(new Error("append failed")); };
      this.sb.addEventListener("updateend", done, { once: true });
      this.sb.addEventListener("error", fail, { once: true });
      this.sb.appendBuffer(buf);
    });
  }

  /** Load what is needed to show time t; returns the time actually shown (a gap skips ahead). */
  async prepare(t) {
    const seg = this.segmentAt(t);
    if (!seg) return null;
    const shown = Math.max(t, ms(seg.start_at));
    if (this.loaded.has(seg.id)) {
      // Loaded once, but the browser may have evicted it from the buffer since: load it again.
      await this.loaded.get(seg.id).catch(() => {});
      if (!this.covers((shown - view.start) / 1000)) this.loaded.delete(seg.id);
    }
    await this.load(seg);
    return shown;
  }

  covers(sec) {
    const b = this.sb ? this.sb.buffered : null;
    if (!b) return false;
    for (let i = 0; i < b.length; i++) if (sec >= b.start(i) && sec < b.end(i) - 0.05) return true;
    return false;
  }

  prefetch(t) {
    const seg = this.segmentAt(t);
    if (!seg) return;
    if (ms(seg.end_at) - t < 8000) {
      const next = this.segments[this.segments.indexOf(seg) + 1];
      if (next) this.load(next);
    }
  }
}

function stopPlayers() {
  for (const p of players) { p.video.pause(); p.video.removeAttribute("src"); p.video.load(); }
  players = [];
  document.getElementById("players").replaceChildren();
}

async function startPlayers() {
  stopPlayers();
  const list = await Promise.all(Object.keys(timelines).map(async (id) => {
    const segs = await api("GET", `sessions/${session.id}/segments?camera_id=${id}&start=${encodeURIComponent(new Date(view.start).toISOString())}&end=${encodeURIComponent(new Date(view.end).toISOString())}`);
    return new Player(Number(id), segs);
  }));
  players = list;
  const name = Object.fromEntries(cameras.map((c) => [c.id, c.name]));
  document.getElementById("players").replaceChildren(...players.map((p) =>
    el("figure", {}, p.video, el("figcaption", {}, `${p.cameraId} · ${name[p.cameraId] || ""}`))));
  const first = Math.min(...players.flatMap((p) => p.segments.map((s) => ms(s.start_at))));
  if (Number.isFinite(first)) await seek(Math.max(first, view.start));
}

let seekToken = 0;
export async function seek(t) {
  const token = ++seekToken;
  const began = performance.now();
  moveCursor(t);
  const shown = await Promise.all(players.map((p) => p.prepare(t)));
  if (token !== seekToken) return;
  const master = players[0];
  const target = shown[0] ?? shown.find((x) => x !== null);
  if (target === null || target === undefined) return;
  for (const p of players) {
    p.video.currentTime = (target - view.start) / 1000;
    p.video.playbackRate = speed;
    if (!paused) p.video.play().catch(() => {});
  }
  const v = master.video;
  v.dataset.seekTarget = String((target - view.start) / 1000);
  const mark = () => { if (token === seekToken) v.dataset.seekMs = String(Math.round(performance.now() - began)); };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(mark); else v.addEventListener("seeked", mark, { once: true });
}

let speed = 1;
let paused = false;
for (const b of document.querySelectorAll("[data-speed]")) {
  b.addEventListener("click", () => {
    speed = Number(b.dataset.speed);
    for (const o of document.querySelectorAll("[data-speed]")) o.classList.toggle("active", o === b);
    for (const p of players) p.video.playbackRate = speed;
  });
}
document.getElementById("pause").addEventListener("click", () => {
  paused = !paused;
  for (const p of players) (paused ? p.video.pause() : p.video.play().catch(() => {}));
});

// Keep the cursor, the prefetch, gap skipping and the other cameras in step with the first one.
setInterval(() => {
  if (!players.length || dragging) return;
  const master = players[0].video;
  const now = view.start + master.currentTime * 1000;
  moveCursor(now);
  for (const p of players) {
    p.prefetch(now);
    if (p !== players[0] && Math.abs(p.video.currentTime - master.currentTime) > 0.5) p.video.currentTime = master.currentTime;
  }
  const b = master.buffered;
  let inside = false;
  for (let i = 0; i < b.length; i++) if (master.currentTime >= b.start(i) && master.currentTime < b.end(i) - 0.3) inside = true;
  if (!inside && !paused) {
    const next = players[0].segments.find((s) => ms(s.start_at) > now + 300);
    if (next) seek(ms(next.start_at));
  }
}, 250);

document.getElementById("play").addEventListener("click", askPurposeAndPlay);
document.querySelector("#purpose-dialog [data-cancel]").addEventListener("click", () => document.getElementById("purpose-dialog").close());
form.addEventListener("submit", showTimelines);

try {
  cameras = await api("GET", "cameras");
  const sel = document.getElementById("camera-select");
  sel.replaceChildren(...cameras.map((c, i) => el("option", { value: c.id, selected: i === 0 }, `${c.id} · ${c.name}`)));
  const now = new Date();
  form.elements.to.value = toLocalInput(new Date(now.getTime() + 60000));
  form.elements.from.value = toLocalInput(new Date(now.getTime() - 30 * 60000));
  if (params.get("cameras") && !grant) {
    const want = params.get("cameras").split(",");
    for (const o of sel.options) o.selected = want.includes(o.value);
  }
  if (params.get("from")) form.elements.from.value = toLocalInput(new Date(params.get("from")));
  if (params.get("to")) form.elements.to.value = toLocalInput(new Date(params.get("to")));
  if (grant) showGrant(sel);
  if (grant) {
    document.getElementById("grant-note").hidden = false;
    for (const i of form.querySelectorAll("select, input, button[type=submit]")) i.disabled = true;
    await showTimelines();
  }
} catch (err) {
  showError(errorBox, err);
}
window.custosPlayback = { seek, players: () => players, view: () => view };
