// Dashboard: cameras online / offline / alarmed, storage projection against retention floors,
// upcoming deadlines, requests awaiting me.
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
  for (const k of Object.keys(counts)) document.querySelector(`#stat-${k} [data-count]`).textContent = counts[k];
  body("dash-cameras").replaceChildren(table([
    ["dash.camera", (r) => `${r.c.id} · ${r.c.name}`],
    ["camera.status", (r) => el("span", { class: `badge ${r.h.state || "unknown"}`, dataset: { kind: r.kind } },
      r.h.state ? label("enum.recorder", r.h.state) : T("enum.recorder.unknown"), r.h.reason ? ` · ${label("enum.reason", r.h.reason)}` : "")],
  ], rows));
  return list;
}

async function storage(list) {
  if (!can("playback")) { body("dash-storage").replaceChildren(notShown()); return; }
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
  body("dash-storage").replaceChildren(table([
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
    ["dash.subject", (f) => `${f.site} ${f.subject || ""}`],
    ["dash.duty", (f) => [f.message, " ", el("span", { class: "article" }, `[${f.rule_ids.join(", ")}]`)]],
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
await Promise.all([storage(list), deadlines(), pending()].map((p) => p.catch((e) => showError(err, e))));
