// Dashboard: cameras online / offline (and how many of those need action), the open alarms the
// user may see, storage projection against retention floors, upcoming deadlines, requests
// awaiting me.
import { api, can, el, label, showError, table, T } from "./app.js";

// Offline for a reason that needs someone to act (wrong password, bad stream, disk full…).
const ALARM = new Set(["auth_failed", "unsupported_codec", "protocol_error", "stalled", "storage_full"]);
const body = (id) => document.querySelector(`#${id} [data-body]`);
const notShown = () => el("p", { class: "muted" }, T("dash.not_permitted"));
const gb = (bytes) => `${(bytes / 1e9).toFixed(1)} GB`;

async function cameras() {
  if (!can("registry.read")) { body("dash-cameras").replaceChildren(notShown()); return []; }
  const list = (await api("GET", "cameras")).filter((c) => c.state === "in_service");
  const health = await Promise.all(list.map((c) => api("GET", `cameras/${c.id}/health`).catch(() => null)));
  const counts = { online: 0, offline: 0, alarmed: 0 };
  const rows = list.map((c, i) => {
    const h = health[i] || {};
    const kind = h.state === "recording" ? "online" : h.state === "offline" && ALARM.has(h.reason) ? "alarmed" : "offline";
    counts[kind] += 1;
    return { c, h, kind };
  });
  document.querySelector("#stat-online [data-count]").textContent = counts.online;
  document.querySelector("#stat-offline [data-count]").textContent = counts.offline + counts.alarmed;
  if (counts.alarmed) document.querySelector("#stat-offline [data-note]").textContent = T("dash.alarmed_cameras", { n: counts.alarmed });
  body("dash-cameras").replaceChildren(table([
    ["dash.camera", (r) => `${r.c.id} · ${r.c.name}`],
    ["camera.status", (r) => el("span", { class: `badge ${r.h.state || "unknown"}`, dataset: { kind: r.kind } },
      r.h.state ? label("enum.recorder", r.h.state) : T("enum.recorder.unknown"), r.h.reason ? ` · ${label("enum.reason", r.h.reason)}` : "")],
  ], rows));
  return list;
}

/** The open alarms the user may see: the same list as GET /alarms and the alarms page. */
async function alarms() {
  const tile = document.querySelector("#stat-alarms");
  if (!can("storage.read")) { tile.querySelector("[data-note]").textContent = T("dash.not_permitted"); return; }
  const open = await api("GET", "alarms");
  tile.querySelector("[data-count]").textContent = open.length;
  const critical = open.filter((a) => a.severity === "critical").length;
  tile.classList.toggle("alert", critical > 0);
  if (critical) tile.querySelector("[data-note]").textContent = `${label("enum.severity", "critical")} ${critical}`;
}

/** Volumes: days of footage each can hold at the present bitrates, against the floor. */
async function volumes() {
  const p = await api("GET", "storage/projection");
  return table([
    ["dash.volume", (v) => el("span", { class: "mono" }, v.volume)],
    ["dash.free", (v) => gb(v.free_bytes)],
    ["dash.rate", (v) => `${gb(v.bytes_per_day)}/d`],
    ["dash.days_possible", (v) => (v.days_possible === null ? T("dash.no_rate") : v.days_possible.toFixed(0))],
    ["dash.days_required", (v) => v.days_required],
    ["camera.status", (v) => el("span", { class: `badge ${v.short ? "critical" : "ok"}` }, T(v.short ? "dash.short" : "dash.enough"))],
  ], [p]);
}

async function storage(list) {
  const parts = [];
  if (can("storage.read")) parts.push(await volumes());
  if (can("playback")) parts.push(await perCamera(list));
  body("dash-storage").replaceChildren(...(parts.length ? parts : [notShown()]));
}

async function perCamera(list) {
  const start = new Date(Date.now() - 3600000).toISOString();
  let total = 0;
  const rows = await Promise.all(list.map(async (c) => {
    const tl = await api("GET", `cameras/${c.id}/segments?start=${encodeURIComponent(start)}`).catch(() => ({ segments: [] }));
    const bytes = tl.segments.reduce((a, s) => a + s.bytes, 0);
    const secs = tl.segments.reduce((a, s) => a + s.duration_s, 0);
    const rate = secs ? bytes / secs : null;
    const need = rate ? rate * 86400 * c.effective_retention_days : null;
    total += need || 0;
    return { c, rate, need };
  }));
  return el("div", {}, table([
    ["dash.camera", (r) => `${r.c.id} · ${r.c.name}`],
    ["dash.floor", (r) => T("camera.retention_value", { days: r.c.effective_retention_days })],
    ["dash.rate", (r) => (r.rate ? `${((r.rate * 8) / 1000).toFixed(0)} kbit/s` : T("dash.no_rate"))],
    ["dash.need", (r) => (r.need ? gb(r.need) : "—")],
  ], rows), el("p", {}, el("strong", {}, `${T("dash.total")}: ${gb(total)}`)));
}

async function deadlines() {
  if (!can("compliance.read")) { body("dash-deadlines").replaceChildren(notShown()); return; }
  const reports = await api("GET", "compliance/units");
  const due = reports.flatMap((u) => u.sites.flatMap((s) => s.findings.filter((f) => f.due).map((f) => ({ ...f, site: s.site_name }))))
    .sort((a, b) => a.due.localeCompare(b.due)).slice(0, 12);
  body("dash-deadlines").replaceChildren(table([
    ["dash.due", (f) => f.due],
    ["dash.subject", (f) => [f.site, " ", f.subject ? el("span", { class: "muted mono" }, f.subject) : ""]],
    ["dash.duty", (f) => [f.text ?? f.message, " ", el("span", { class: "article" }, `[${f.rule_ids.join(", ")}]`)]],
  ], due));
}

async function pending() {
  let rows;
  if (can("approve")) rows = await api("GET", "requests?awaiting_me=true");
  else if (can("request.file")) rows = (await api("GET", "requests")).filter((r) => ["submitted", "approved"].includes(r.state));
  else { body("dash-pending").replaceChildren(notShown()); return; }
  body("dash-pending").replaceChildren(table([
    ["requests.id", (r) => el("a", { href: "/ui/requests" }, r.id)],
    ["requests.action", (r) => label("enum.action", r.action)],
    ["requests.state", (r) => label("enum.request_state", r.state)],
    ["requests.organ", (r) => r.organ],
    ["requests.purpose", (r) => r.purpose],
  ], rows));
}

const err = document.getElementById("dash-error");
const list = await cameras().catch((e) => { showError(err, e); return []; });
await Promise.all([alarms(), storage(list), deadlines(), pending()].map((p) => p.catch((e) => showError(err, e))));
// a pushed alarm (alarm_push.js) changes the count at once
document.addEventListener("custos:alarm", () => alarms().catch((e) => showError(err, e)));
