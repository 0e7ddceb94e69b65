// Duty in a monitoring room: who is on duty (sign on, hand over with a note, accept, sign off),
// the append-only duty log, reports to the police, the room's access register; for unit
// managers, rooms, shifts and the rota. Every write goes through the REST API.
import { api, can, clearError, el, flash, fmtTime, formData, label, me, shanghaiDate, showError, table, T } from "./app.js";

const box = document.getElementById("duty-error");
const flashBox = document.getElementById("flash");
const roomSelect = document.getElementById("duty-room");
let rooms = [];
let cameras = [];
let people = [];

const room = () => Number(roomSelect.value) || null;
const who = (id) => {
  const p = people.find((u) => u.id === id);
  return p ? p.full_name || p.username : String(id ?? "");
};

for (const node of document.querySelectorAll("[data-needs]")) {
  if (!can(node.dataset.needs)) node.hidden = true;
}

async function act(fn, done) {
  clearError(box);
  try {
    await fn();
    if (done) flash(flashBox, done);
    await refresh();
  } catch (err) { showError(box, err); }
}

function onSubmit(id, handler) {
  const form = document.getElementById(id);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(async () => { await handler(formData(form)); form.reset(); });
  });
}

// ---- who is on duty ----------------------------------------------------------------------
async function loadNow() {
  const status = await api("GET", `monitoring-rooms/${room()}/duty`);
  const mine = status.on_duty.find((s) => s.user_id === me.id);
  document.getElementById("duty-sign-on").hidden = !can("duty.write") || !!mine;
  const handover = document.getElementById("handover-form");
  handover.hidden = !mine;
  handover.dataset.session = mine ? mine.id : "";
  document.getElementById("duty-now").replaceChildren(table([
    ["onduty.operator", (s) => who(s.user_id) || s.username],
    ["onduty.signed_on_at", (s) => fmtTime(s.signed_on_at)],
    ["onduty.handover", (s) => s.handover_to ? [el("div", {}, T("onduty.handover_offered", { to: who(s.handover_to), at: fmtTime(s.handover_at) })), el("div", { class: "muted" }, s.handover_note)] : "—"],
    ["onduty.actions", (s) => s.handover_to === me.id
      ? el("button", { type: "button", class: "primary", dataset: { act: "accept" }, onclick: () => act(() => api("POST", `duty-sessions/${s.id}/accept`), T("onduty.accepted")) }, T("onduty.accept"))
      : ""],
  ], status.on_duty, { empty: "onduty.nobody", rowAttrs: (s) => ({ dataset: { session: s.id } }) }));
}

document.getElementById("duty-sign-on").addEventListener("click", () =>
  act(() => api("POST", `monitoring-rooms/${room()}/sign-on`), T("onduty.signed_on")));
document.getElementById("duty-sign-off").addEventListener("click", () => {
  const id = document.getElementById("handover-form").dataset.session;
  act(() => api("POST", `duty-sessions/${id}/sign-off`), T("onduty.signed_off"));
});
document.getElementById("handover-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const body = formData(form);
  act(async () => {
    await api("POST", `duty-sessions/${form.dataset.session}/handover`, body);
    form.reset();
  }, T("onduty.handed_over"));
});

// ---- the duty log and reports ------------------------------------------------------------
function cameraName(id) {
  const c = cameras.find((x) => x.id === id);
  return c ? `${c.id} · ${c.name}` : "";
}

async function loadLog() {
  const entries = await api("GET", `monitoring-rooms/${room()}/log`);
  document.getElementById("duty-log").replaceChildren(table([
    ["onduty.entry_id", (e) => e.id],
    ["onduty.log_at", (e) => fmtTime(e.at)],
    ["onduty.camera", (e) => cameraName(e.camera_id)],
    ["onduty.log_text", (e) => [e.suspicious ? el("span", { class: "badge warning" }, T("onduty.suspicious")) : null, " ", e.text,
      e.corrects ? el("div", { class: "muted" }, T("onduty.corrects_entry", { id: e.corrects })) : null]],
    ["onduty.written_by", (e) => e.written_by],
  ], entries, { empty: "onduty.log_empty", rowAttrs: (e) => ({ dataset: { entry: e.id } }) }));
  const pick = document.getElementById("report-entry");
  pick.replaceChildren(pick.options[0], ...entries.filter((e) => e.suspicious).map((e) =>
    el("option", { value: e.id }, `${e.id} · ${fmtTime(e.at)} · ${e.text.slice(0, 40)}`)));
}

async function loadReports() {
  const reports = await api("GET", `monitoring-rooms/${room()}/reports`);
  document.getElementById("duty-reports").replaceChildren(table([
    ["onduty.seen_at", (r) => fmtTime(r.seen_at)],
    ["onduty.reported_at", (r) => [fmtTime(r.reported_at), r.late ? el("span", { class: "badge critical" }, T("onduty.late")) : null]],
    ["onduty.due", (r) => r.due ? fmtTime(r.due) : "—"],
    ["onduty.organ", (r) => [r.organ, r.organ_code ? el("span", { class: "mono" }, ` ${r.organ_code}`) : null]],
    ["onduty.channel", (r) => label("enum.report_channel", r.channel)],
    ["onduty.reference", (r) => r.reference],
    ["onduty.what", (r) => r.what],
  ], reports, { empty: "onduty.reports_empty", rowAttrs: (r) => ({ dataset: { report: r.id, late: r.late } }) }));
}

onSubmit("log-form", (d) => api("POST", `monitoring-rooms/${room()}/log`, d));
onSubmit("report-form", (d) => api("POST", `monitoring-rooms/${room()}/reports`, d));

// ---- the access register -----------------------------------------------------------------
async function loadEntries() {
  const entries = await api("GET", `monitoring-rooms/${room()}/entries`);
  const leave = (e) => e.left_at || !can("duty.write") ? fmtTime(e.left_at) :
    el("button", { type: "button", dataset: { act: "leave" }, onclick: () => act(() => api("POST", `room-entries/${e.id}/leave`, { left_at: new Date().toISOString() })) }, T("onduty.leave"));
  document.getElementById("room-entries").replaceChildren(table([
    ["onduty.person", (e) => [e.person_name, e.unrelated ? el("span", { class: "badge critical" }, ` ${T("onduty.unrelated")}`) : null]],
    ["onduty.organisation", (e) => e.organisation],
    ["onduty.reason", (e) => e.reason],
    ["onduty.entered_at", (e) => fmtTime(e.entered_at)],
    ["onduty.left_at", leave],
    ["onduty.let_in_by", (e) => e.let_in_by],
  ], entries, { empty: "onduty.entries_empty", rowAttrs: (e) => ({ dataset: { roomEntry: e.id, unrelated: e.unrelated } }) }));
}

onSubmit("entry-form", (d) => api("POST", `monitoring-rooms/${room()}/entries`, d));

// ---- rooms, shifts, rota (unit managers) -------------------------------------------------
async function loadShifts() {
  const shifts = await api("GET", `monitoring-rooms/${room()}/shifts`);
  document.getElementById("duty-shifts").replaceChildren(table([
    ["onduty.shift_name", (s) => s.name],
    ["onduty.starts", (s) => s.starts],
    ["onduty.ends", (s) => [s.ends, s.crosses_midnight ? el("span", { class: "muted" }, ` ${T("onduty.next_day")}`) : null]],
    ["onduty.requires_duty", (s) => s.requires_duty ? T("common.yes") : T("common.no")],
  ], shifts, { empty: "onduty.shifts_empty" }));
  const pick = document.getElementById("rota-shift");
  pick.replaceChildren(...shifts.map((s) => el("option", { value: s.id }, `${s.name} ${s.starts}–${s.ends}`)));
  const today = new Date();
  const iso = shanghaiDate;
  const until = new Date(today.getTime() + 13 * 86400000);
  const rota = await api("GET", `monitoring-rooms/${room()}/rota?from=${iso(today)}&to=${iso(until)}`);
  document.getElementById("duty-rota").replaceChildren(table([
    ["onduty.day", (e) => e.day],
    ["onduty.shift", (e) => shifts.find((s) => s.id === e.shift_id)?.name ?? e.shift_id],
    ["onduty.person", (e) => e.person_name],
  ], rota, { empty: "onduty.rota_empty" }));
}

onSubmit("room-form", async (d) => {
  const authorised = (d.authorised || "").split("\n").map((s) => s.trim()).filter(Boolean);
  const made = await api("POST", "monitoring-rooms", { ...d, authorised, camera_ids: d.camera_ids.map(Number) });
  await loadRooms(made.id);
});
onSubmit("shift-form", (d) => api("POST", `monitoring-rooms/${room()}/shifts`, d));
onSubmit("rota-form", (d) => api("POST", `monitoring-rooms/${room()}/rota`, d));

// ---- the page ----------------------------------------------------------------------------
async function refresh() {
  const has = room() !== null;
  document.getElementById("no-room").hidden = has;
  for (const id of ["duty-now-card"]) document.getElementById(id).hidden = !has;
  if (!has) return;
  people = await api("GET", `monitoring-rooms/${room()}/colleagues`);
  const to = document.getElementById("handover-to");
  const chosen = to.value;  // a refresh (a room picked again) keeps the colleague already chosen
  to.replaceChildren(...people.filter((p) => p.id !== me.id).map((p) => el("option", { value: p.id }, p.full_name || p.username)));
  if ([...to.options].some((o) => o.value === chosen)) to.value = chosen;
  const rotaUser = document.getElementById("rota-user");
  rotaUser.replaceChildren(rotaUser.options[0], ...people.map((p) => el("option", { value: p.id }, p.full_name || p.username)));
  const tasks = [loadNow(), loadLog(), loadReports(), loadEntries()];
  if (can("duty.manage")) tasks.push(loadShifts());
  await Promise.all(tasks);
}

async function loadRooms(select) {
  rooms = await api("GET", "monitoring-rooms");
  roomSelect.replaceChildren(...rooms.map((r) => el("option", { value: r.id }, r.name)));
  if (select) roomSelect.value = String(select);
  await refresh();
}

async function fillChoices() {
  const [sites, cams] = await Promise.all([api("GET", "sites"), api("GET", "cameras")]);
  cameras = cams;
  document.getElementById("room-site").replaceChildren(...sites.map((s) => el("option", { value: s.id }, `${s.id} · ${s.name}`)));
  document.getElementById("room-cameras").replaceChildren(...cams.map((c) => el("option", { value: c.id }, `${c.id} · ${c.name}`)));
  const logCamera = document.getElementById("log-camera");
  logCamera.append(...cams.map((c) => el("option", { value: c.id }, `${c.id} · ${c.name}`)));
}

roomSelect.addEventListener("change", () => refresh().catch((err) => showError(box, err)));
await fillChoices().catch((err) => showError(box, err));
await loadRooms().catch((err) => showError(box, err));
