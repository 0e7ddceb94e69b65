// One tile of the duty wall: its camera (or tour), its live player and an honest account of its
// state. The overlay sits at the top-right and the bottom, never over the top-left corner where
// cameras burn in their clock.
import { api, label, T } from "./app.js";
import { LivePlayer } from "./wall_player.js";

const template = document.getElementById("tile-template");
const ALARM_MS = 60000;
const SHANGHAI = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** An instant as Shanghai wall-clock time (YYYY-MM-DD HH:MM:SS), whatever the browser's zone:
 * "offline since" must read the same on every duty desk. */
export function shanghaiTime(iso) {
  return iso ? SHANGHAI.format(new Date(iso)) : "";
}

export class Tile {
  /** ``wall`` gives the cameras, the stream a tile should ask for and the tile's forms. */
  constructor(wall) {
    this.wall = wall;
    this.node = template.content.firstElementChild.cloneNode(true);
    this.video = this.node.querySelector("video");
    this.select = this.node.querySelector(".tile-camera");
    this.spec = {};
    this.cameraId = null;
    this.player = null;
    this.stopped = false;
    this.tourTimer = null;
    this.alarmTimer = null;
    this.fillCameras();
    const q = (s) => this.node.querySelector(s);
    this.select.addEventListener("click", (e) => e.stopPropagation());
    this.select.addEventListener("change", () => {
      this.stopped = false;
      this.setSpec(this.select.value ? { camera_id: Number(this.select.value) } : {});
    });
    const button = (sel, f) => q(sel)?.addEventListener("click", (e) => { e.stopPropagation(); f(); });
    button("[data-stop]", () => this.stop());
    button("[data-fullscreen]", () => this.toggleFullscreen());
    button("[data-snapshot]", () => this.cameraId && wall.snapshotForm(this));
    button("[data-tour]", () => wall.tourForm(this));
    this.node.addEventListener("click", () => { if (this.stopped && this.cameraId) this.start(); });
    this.node.addEventListener("dblclick", (e) => {
      if (e.target.closest("button, select, input, .ptz-bar")) return;
      this.toggleFullscreen();
    });
    this.video.addEventListener("playing", () => { q("[data-hint]").hidden = true; });
  }

  fillCameras() {
    const keep = this.select.value;
    this.select.replaceChildren(this.select.options[0]);
    for (const c of this.wall.cameras) this.select.append(new Option(`${c.id} · ${c.name}`, c.id));
    this.select.value = keep;
  }

  /** {camera_id} | {tour: {camera_ids, interval_s}} | {} */
  setSpec(spec) {
    clearInterval(this.tourTimer);
    this.tourTimer = null;
    this.spec = spec || {};
    const tour = this.spec.tour;
    const badge = this.node.querySelector("[data-tour-badge]");
    badge.hidden = !tour;
    if (tour && tour.camera_ids?.length) {
      let at = 0;
      badge.textContent = T("wall.tour.badge", { n: tour.camera_ids.length, s: tour.interval_s });
      this.show(tour.camera_ids[0]);
      this.tourTimer = setInterval(() => {
        at = (at + 1) % tour.camera_ids.length;
        this.show(tour.camera_ids[at]);
      }, Math.max(5, tour.interval_s) * 1000);
    } else {
      this.show(this.spec.camera_id ?? null);
    }
  }

  /** Watch ``cameraId``; the same camera on the same stream keeps its player. */
  show(cameraId) {
    const stream = this.wall.streamFor(this);
    if (cameraId === this.cameraId && (this.stopped || (this.player && this.player.stream === stream))) return;
    this.halt();
    this.cameraId = cameraId;
    if (cameraId && ![...this.select.options].some((o) => o.value === String(cameraId))) {
      this.select.append(new Option(String(cameraId), cameraId));  // saved, though not listed as in service
    }
    this.select.value = cameraId ?? "";
    if (cameraId) this.node.dataset.camera = String(cameraId);
    else delete this.node.dataset.camera;
    this.node.dispatchEvent(new CustomEvent("custos:tile-camera", { bubbles: true }));
    this.health(null);
    this.setState(!cameraId ? "empty" : this.stopped ? "stopped" : "connecting");
    if (cameraId && !this.stopped) this.start();
    if (cameraId) this.refreshHealth();
  }

  start() {
    if (!this.cameraId) return;
    this.halt();
    this.stopped = false;
    this.node.querySelector("[data-stop]").hidden = false;
    this.node.classList.add("watching");
    this.dropped = 0;
    this.player = new LivePlayer(this.video, this.cameraId, this.wall.streamFor(this), (ev) => this.event(ev));
    this.node.dataset.stream = this.player.stream;
  }

  /** The operator stopped this tile: it stays stopped until clicked. */
  stop() {
    this.halt();
    this.stopped = true;
    this.setState("stopped");
  }

  /** Close the player (and its registered session). */
  halt() {
    if (this.player) this.player.close();
    this.player = null;
    this.node.classList.remove("watching");
    this.node.querySelector("[data-stop]").hidden = true;
    this.node.querySelector("[data-path]").textContent = "";
    this.node.querySelector("[data-dropped]").hidden = true;
    delete this.node.dataset.session;
  }

  /** The layout or full screen changed what this tile should ask for (main or sub). */
  restream() {
    if (this.player && this.player.stream !== this.wall.streamFor(this)) this.start();
  }

  event(ev) {
    const q = (s) => this.node.querySelector(s);
    if (ev.session !== undefined) this.node.dataset.session = String(ev.session);
    if (ev.codec !== undefined) {
      const path = q("[data-path]");
      path.dataset.path = [ev.path, ev.source].filter(Boolean).join("/");
      path.textContent = [ev.path && T(`wall.path.${ev.path}`), ev.source && T(`wall.source.${ev.source}`)].filter(Boolean).join(" · ");
    }
    if (ev.dropped !== undefined) {
      const d = q("[data-dropped]");
      d.hidden = !(ev.dropped > 0);
      d.dataset.count = String(ev.dropped);
      d.textContent = T("wall.dropped", { count: ev.dropped });
    }
    if (ev.state !== undefined) this.setState(ev.state, ev);
  }

  setState(state, detail = {}) {
    const live = this.node.querySelector("[data-live]");
    const hint = this.node.querySelector("[data-hint]");
    this.node.dataset.state = state;
    live.dataset.state = state;
    let text = T(`wall.state.${state}`);
    if (state === "offline") {
      if (detail.reason) text += ` · ${label("enum.reason", detail.reason)}`;
      if (detail.since) text += ` · ${T("wall.since", { at: shanghaiTime(detail.since) })}`;
    }
    if (state === "error" && detail.unsupported) text = T("wall.codec_unsupported", { codec: detail.unsupported });
    live.textContent = text;
    live.title = detail.message || "";
    if (state === "empty") { hint.hidden = false; hint.textContent = T("wall.no_camera_hint"); }
    else if (state === "stopped") { hint.hidden = false; hint.textContent = T("wall.stopped_hint"); }
    else if (["no_permission", "refused", "signed_out"].includes(state)) { hint.hidden = false; hint.textContent = text; }
    else hint.hidden = true;
  }

  health(h) {
    const badge = this.node.querySelector("[data-status]");
    if (!h) { badge.textContent = ""; badge.className = "badge"; badge.hidden = true; return; }
    badge.hidden = false;
    badge.className = `badge ${h.state || "unknown"}`;
    badge.textContent = (h.state ? label("enum.recorder", h.state) : T("enum.recorder.unknown"))
      + (h.reason ? ` · ${label("enum.reason", h.reason)}` : "");
    badge.title = h.state === "offline" && h.since ? T("wall.since", { at: shanghaiTime(h.since) }) : "";
  }

  async refreshHealth() {
    const id = this.cameraId;
    if (!id) return;
    try {
      const h = await api("GET", `cameras/${id}/health`);
      if (id === this.cameraId) this.health(h);
    } catch { if (id === this.cameraId) this.health(null); }
  }

  toggleFullscreen() {
    if (document.fullscreenElement === this.node) document.exitFullscreen().catch(() => {});
    else this.node.requestFullscreen?.().catch(() => {});
  }

  /** An alarm on this tile's camera: outlined until acknowledged or cleared, 60 s at most. */
  alarm(a) {
    clearTimeout(this.alarmTimer);
    if (a.state === "open") {
      this.node.classList.add("alarmed");
      this.node.dataset.alarmId = String(a.id);
      this.node.title = a.message || "";
      this.alarmTimer = setTimeout(() => this.unalarm(), ALARM_MS);
    } else if (this.node.dataset.alarmId === String(a.id)) this.unalarm();
  }

  unalarm() {
    this.node.classList.remove("alarmed");
    delete this.node.dataset.alarmId;
    this.node.title = "";
  }

  destroy() {
    clearInterval(this.tourTimer);
    clearTimeout(this.alarmTimer);
    this.halt();
    this.node.remove();
  }
}
