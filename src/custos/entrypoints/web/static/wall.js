// Duty wall (值班监看): 1/4/9/16 tiles; clicking a tile opens a registered live session whose
// fragments arrive over a WebSocket and go straight into Media Source Extensions.
import { api, el, label, showError, T } from "./app.js";

const wall = document.getElementById("wall");
const template = document.getElementById("tile-template");
let cameras = [];
const tiles = [];

class LivePlayer {
  constructor(video, cameraId, onStatus) {
    this.video = video;
    this.cameraId = cameraId;
    this.onStatus = onStatus;
    this.queue = [];
    this.sb = null;
    this.closed = false;
    this.clickedAt = performance.now();
    this.ms = new MediaSource();
    video.src = URL.createObjectURL(this.ms);
    this.opened = new Promise((resolve) => this.ms.addEventListener("sourceopen", resolve, { once: true }));
    const proto = location.protocol === "https:" ? "wss" : "ws";
    this.ws = new WebSocket(`${proto}://${location.host}/api/v1/live/cameras/${cameraId}/stream`);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => { video.dataset.wsOpenMs = String(Math.round(performance.now() - this.clickedAt)); };
    this.ws.onmessage = (m) => this.message(m);
    this.ws.onclose = (e) => { if (!this.closed) onStatus("closed", e.reason); };
    video.addEventListener("loadeddata", () => {
      // First decoded frame: recorded for the latency bench.
      video.dataset.firstFrameMs = String(Math.round(performance.now() - this.clickedAt));
    }, { once: true });
  }

  async message(m) {
    if (typeof m.data === "string") {
      const msg = JSON.parse(m.data);
      if (msg.type === "init") await this.init(msg.codec);
      else if (msg.type === "session") {
        this.video.dataset.session = msg.session_id;
        this.video.dataset.sessionMs = String(Math.round(performance.now() - this.clickedAt));
      }
      else if (msg.type === "status") this.onStatus(msg.state);
      else if (msg.type === "error") this.onStatus("error", msg.message);
      return;
    }
    if (!this.video.dataset.firstDataMs) this.video.dataset.firstDataMs = String(Math.round(performance.now() - this.clickedAt));
    this.queue.push(m.data);
    this.pump();
  }

  async init(codec) {
    await this.opened;
    if (!this.sb) {
      const type = `video/mp4; codecs="${codec}"`;
      if (!MediaSource.isTypeSupported(type)) { this.onStatus("error", T("wall.codec_unsupported", { codec })); return; }
      this.sb = this.ms.addSourceBuffer(type);
      this.sb.mode = "sequence";  // timestamps restart in every recorded segment
      this.sb.addEventListener("updateend", () => this.appended());
    }
  }

  pump() {
    if (!this.sb || this.sb.updating || !this.queue.length || this.ms.readyState !== "open") return;
    const v = this.video;
    const b = this.sb.buffered;
    if (b.length && b.end(b.length - 1) - b.start(0) > 60 && v.currentTime - b.start(0) > 30) {
      this.sb.remove(b.start(0), v.currentTime - 10);  // keep the buffer small
      return;
    }
    try {
      this.sb.appendBuffer(this.queue.shift());
    } catch (err) {
      this.onStatus("error", String(err));
    }
  }

  appended() {
    const v = this.video;
    const b = this.sb.buffered;
    if (b.length) {
      const start = b.start(b.length - 1);
      const end = b.end(b.length - 1);
      if (end - v.currentTime > 6) v.currentTime = Math.max(start, end - 1.5);  // fell behind: jump to the live edge
      else if (v.currentTime < start) v.currentTime = start;
      if (v.paused) v.play().catch(() => {});
    }
    this.pump();
  }

  close() {
    this.closed = true;
    this.ws.close();
    try { if (this.ms.readyState === "open") this.ms.endOfStream(); } catch { /* closing anyway */ }
    this.video.removeAttribute("src");
    this.video.load();
  }
}

function statusBadge(tile, health) {
  const badge = tile.node.querySelector("[data-status]");
  if (!health) { badge.textContent = ""; badge.className = "badge"; return; }
  badge.className = `badge ${health.state || "unknown"}`;
  badge.textContent = (health.state ? label("enum.recorder", health.state) : T("enum.recorder.unknown")) + (health.reason ? ` · ${label("enum.reason", health.reason)}` : "");
}

function stop(tile) {
  if (tile.player) tile.player.close();
  tile.player = null;
  tile.node.classList.remove("watching");
  tile.node.querySelector("[data-stop]").hidden = true;
  tile.node.querySelector("[data-hint]").hidden = false;
  tile.node.querySelector("[data-live]").textContent = "";
}

function watch(tile) {
  if (tile.player || !tile.cameraId) return;
  const node = tile.node;
  node.classList.add("watching");
  node.querySelector("[data-hint]").hidden = true;
  node.querySelector("[data-stop]").hidden = false;
  const live = node.querySelector("[data-live]");
  tile.player = new LivePlayer(node.querySelector("video"), tile.cameraId, (st, detail) => {
    live.textContent = T(`wall.state.${st}`) + (detail ? ` — ${detail}` : "");
    live.dataset.state = st;
  });
}

function build(n) {
  for (const t of tiles) stop(t);
  tiles.length = 0;
  wall.dataset.layout = String(n);
  wall.replaceChildren();
  for (let i = 0; i < n; i++) {
    const node = template.content.firstElementChild.cloneNode(true);
    node.dataset.tile = String(i);
    const tile = { node, cameraId: cameras[i]?.id ?? null, player: null };
    const sel = node.querySelector(".tile-camera");
    for (const c of cameras) sel.append(el("option", { value: c.id }, `${c.id} · ${c.name}`));
    sel.value = tile.cameraId ?? "";
    sel.addEventListener("click", (e) => e.stopPropagation());
    sel.addEventListener("change", () => { stop(tile); tile.cameraId = sel.value ? Number(sel.value) : null; refresh(); });
    node.querySelector("[data-stop]").addEventListener("click", (e) => { e.stopPropagation(); stop(tile); });
    node.addEventListener("click", () => watch(tile));
    tiles.push(tile);
    wall.append(node);
  }
  refresh();
}

async function refresh() {
  await Promise.all(tiles.map(async (tile) => {
    if (!tile.cameraId) return statusBadge(tile, null);
    try { statusBadge(tile, await api("GET", `cameras/${tile.cameraId}/health`)); } catch { statusBadge(tile, null); }
  }));
}

for (const b of document.querySelectorAll("button[data-layout]")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("button[data-layout]")) o.classList.toggle("active", o === b);
    build(Number(b.dataset.layout));
  });
}
window.addEventListener("pagehide", () => tiles.forEach(stop));

try {
  cameras = (await api("GET", "cameras")).filter((c) => c.state === "in_service");
  build(4);
  setInterval(refresh, 5000);
} catch (err) {
  showError(document.getElementById("wall-error"), err);
}
