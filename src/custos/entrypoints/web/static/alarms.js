// Alarms: the open alarms the user may see (or all, closed included), filtered by severity,
// site and camera; acknowledge and resolve with a note (who and when come from the session).
import { api, can, clearError, el, flash, fmtTime, formData, label, showError, table, T } from "./app.js";
import { deliveries } from "./delivery_view.js";

const form = document.getElementById("alarm-filter");
const box = document.getElementById("alarm-error");
const flashBox = document.getElementById("flash");
let cameras = [];

function query() {
  const d = formData(form);
  const q = new URLSearchParams();
  for (const k of ["severity", "site_id", "camera_id"]) if (d[k] !== null && d[k] !== "") q.set(k, d[k]);
  if (d.include_cleared) q.set("include_cleared", "true");
  return q;
}

/** What the alarm is about, in the user's language (the stored message is the system's own). */
function about(a) {
  const segment = a.subject.startsWith("segment:") ? a.subject.slice(8) : "";
  const cam = cameras.find((c) => c.id === a.camera_id);
  return [
    T(`alarms.text.${a.kind}`, { segment }),
    a.subject.startsWith("volume:") ? el("div", { class: "mono" }, a.subject.slice(7)) : null,
    cam ? el("div", { class: "muted" }, `${T("alarms.camera")}: ${cam.id} · ${cam.name}`) : null,
  ];
}

function handling(h) {
  if (!h) return "—";
  return [el("div", {}, `${h.by_name || h.by} · ${fmtTime(h.at)}`), h.note ? el("div", { class: "muted" }, h.note) : null];
}

function state(a) {
  if (a.resolved) return T("alarms.state.resolved");
  if (!a.open) return T("alarms.state.cleared");
  return a.acknowledged ? T("alarms.state.acknowledged") : T("alarms.state.open");
}

function actions(a) {
  if (!a.open || !can("alarm.handle")) return "";
  const note = el("input", { name: "note", maxlength: "2000", placeholder: T("alarms.note") });
  const act = async (step) => {
    clearError(box);
    try {
      await api("POST", `alarms/${a.id}/${step}`, { note: note.value.trim() });
      flash(flashBox, T(`alarms.done.${step}`, { id: a.id }));
      await load();
    } catch (err) { showError(box, err); }
  };
  return el("div", { class: "inline-form" }, note,
    a.acknowledged ? null : el("button", { type: "button", dataset: { act: "acknowledge" }, onclick: () => act("acknowledge") }, T("alarms.acknowledge")),
    el("button", { type: "button", class: "primary", dataset: { act: "resolve" }, onclick: () => act("resolve") }, T("alarms.resolve")));
}

async function load(ev) {
  ev?.preventDefault();
  clearError(box);
  try {
    const rows = await api("GET", `alarms?${query()}`);
    document.getElementById("alarm-list").replaceChildren(table([
      ["alarms.raised_at", (a) => fmtTime(a.raised_at)],
      ["alarms.severity", (a) => el("span", { class: `badge ${a.severity}` }, label("enum.severity", a.severity))],
      ["alarms.kind", (a) => label("enum.alarm_kind", a.kind)],
      ["alarms.about", about],
      ["alarms.state", state],
      ["alarms.acknowledged", (a) => handling(a.acknowledged)],
      ["alarms.resolved", (a) => handling(a.resolved)],
      ["alarms.actions", actions],
      ["delivery.column", deliveries],
    ], rows, { empty: "alarms.none", rowAttrs: (a) => ({ dataset: { alarm: a.id, severity: a.severity } }) }));
  } catch (err) {
    showError(box, err);
  }
}

async function fillChoices() {
  const [sites, cams] = await Promise.all([api("GET", "sites"), api("GET", "cameras")]);
  cameras = cams;
  const site = document.getElementById("alarm-site");
  const camera = document.getElementById("alarm-camera");
  site.append(...sites.map((s) => el("option", { value: s.id }, `${s.id} · ${s.name}`)));
  camera.append(...cams.map((c) => el("option", { value: c.id }, `${c.id} · ${c.name}`)));
}

form.addEventListener("submit", load);
await fillChoices().catch((err) => showError(box, err));
await load();
