// GB/T 28181 devices: the allow-list of the user's reach with what the SIP server last heard of
// each device; per device its catalogued channels, placed as registry cameras through the
// registry's own rules (a refusal shows its field and article), and its last DeviceInfo and
// DeviceStatus. The digest password is write-only: it is sent, never shown or read back.
import { categoryPicker } from "./camera_form.js";
import { api, can, clearError, el, flash, fmtTime, formData, showError, table, T } from "./app.js";

const deviceForm = document.getElementById("device-form");
const placeForm = document.getElementById("place-form");
const flashBox = document.getElementById("flash");
const state = { units: [], sites: [], device: null, channel: null };
const refreshCategories = categoryPicker(
  document.getElementById("place-category-select"),
  document.getElementById("place-category-search"),
  document.getElementById("place-category-chips"),
);

if (!can("camera.manage")) deviceForm.hidden = true;

const unitName = (id) => state.units.find((u) => u.id === id)?.name ?? String(id);
const mono = (text) => (text ? el("span", { class: "mono" }, text) : "—");
const when = (iso) => (iso ? fmtTime(iso) : "—");

/** A refusal: each field's label, the sentence in the page's language and the article id;
 * the offending inputs are marked. */
function showRefusal(box, form, err) {
  showError(box, err);
  for (const i of form.querySelectorAll(".invalid")) i.classList.remove("invalid");
  for (const e of err.body?.errors || []) {
    const name = (e.field || "").split(/[.[]/)[0];
    const input = form.elements[name];
    if (input && input.classList) input.classList.add("invalid");
  }
  for (const li of box.querySelectorAll("li.refusal")) {
    const e = (err.body?.errors || []).find((x) => (x.field || "") === li.dataset.field);
    if (e?.field_label) li.prepend(el("strong", { class: "field-label" }, `${e.field_label}：`));
  }
}

// ---- devices --------------------------------------------------------------------------------
async function loadDevices() {
  const box = document.getElementById("list-error");
  clearError(box);
  try {
    const rows = await api("GET", "gb/devices");
    document.getElementById("device-list").replaceChildren(table([
      ["gb.device_id", (d) => mono(d.device_id)],
      ["gb.name", (d) => d.name],
      ["gb.unit", (d) => unitName(d.unit_id)],
      ["gb.state", (d) => el("span", { class: `state state-${d.state}`, dataset: { state: d.state } }, T(`gb.state.${d.state}`))],
      ["gb.address", (d) => mono(d.address)],
      ["gb.transport", (d) => mono(d.transport)],
      ["gb.last_keepalive", (d) => when(d.last_keepalive_at)],
      ["gb.registered_until", (d) => when(d.expires_at)],
      ["common.actions", deviceActions],
    ], rows, { empty: "gb.no_devices", rowAttrs: (d) => ({ dataset: { device: d.device_id } }) }));
  } catch (err) { showError(box, err); }
}

function deviceActions(d) {
  const button = (act, key, onclick) => el("button", { type: "button", dataset: { act }, onclick }, T(key));
  return [
    button("channels", "gb.channels", () => openChannels(d)),
    button("report", "gb.report", () => openReport(d)),
    can("camera.manage") ? button("edit", "common.edit", () => editDevice(d)) : null,
    can("camera.manage") ? button("remove", "common.remove", () => removeDevice(d)) : null,
  ];
}

function editDevice(d) {
  deviceForm.hidden = false;
  const f = deviceForm.elements;
  f.id.value = d.id;
  f.device_id.value = d.device_id;
  f.name.value = d.name;
  f.unit_id.value = String(d.unit_id);
  f.password.value = "";
  f.password.required = false;  // left empty: the password is kept
  for (const i of deviceForm.querySelectorAll("[data-create-only]")) i.disabled = true;
  const h2 = deviceForm.querySelector("h2");
  h2.textContent = h2.dataset.titleEdit;
  document.getElementById("password-hint").textContent = T("gb.password_keep");
  document.getElementById("device-cancel").hidden = false;
  deviceForm.scrollIntoView({ block: "nearest" });
}

function resetDeviceForm() {
  deviceForm.reset();
  deviceForm.elements.id.value = "";
  deviceForm.elements.password.required = true;
  for (const i of deviceForm.querySelectorAll("[data-create-only]")) i.disabled = false;
  const h2 = deviceForm.querySelector("h2");
  h2.textContent = h2.dataset.titleNew;
  document.getElementById("password-hint").textContent = T("gb.password_hint");
  document.getElementById("device-cancel").hidden = true;
  clearError(document.getElementById("device-error"));
}

async function removeDevice(d) {
  if (!confirm(T("gb.remove_confirm", { id: d.device_id }))) return;
  try {
    await api("DELETE", `gb/devices/${d.id}`);
    flash(flashBox, T("gb.removed", { id: d.device_id }));
    if (state.device?.id === d.id) closeDevice();
    await loadDevices();
  } catch (err) { showError(document.getElementById("list-error"), err); }
}

deviceForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const box = document.getElementById("device-error");
  clearError(box);
  const data = formData(deviceForm);
  const id = deviceForm.elements.id.value;
  delete data.id;
  try {
    let got;
    if (id) {
      if (!data.password) delete data.password;  // omitted: kept
      got = await api("PUT", `gb/devices/${id}`, data);
    } else {
      got = await api("POST", "gb/devices", data);
    }
    resetDeviceForm();
    flash(flashBox, T("gb.saved", { id: got.device_id }));
    await loadDevices();
  } catch (err) { showRefusal(box, deviceForm, err); }
});
document.getElementById("device-cancel").addEventListener("click", resetDeviceForm);

// ---- channels -------------------------------------------------------------------------------
function closeDevice() {
  state.device = null;
  document.getElementById("channel-card").hidden = true;
  document.getElementById("report-card").hidden = true;
  placeForm.hidden = true;
}

async function openChannels(d) {
  state.device = d;
  placeForm.hidden = true;
  document.getElementById("channel-card").hidden = false;
  document.getElementById("channel-title").textContent = T("gb.channels_of", { id: d.device_id, name: d.name });
  await loadChannels();
}

function placed(ch) {
  if (ch.camera_id === null) return T("gb.not_placed");
  return el("a", { href: `/ui/registry?camera=${ch.camera_id}`, dataset: { camera: ch.camera_id } }, T("gb.camera_link", { id: ch.camera_id }));
}

async function loadChannels() {
  const box = document.getElementById("channel-error");
  clearError(box);
  try {
    const rows = await api("GET", `gb/channels?device_id=${encodeURIComponent(state.device.device_id)}`);
    document.getElementById("channel-list").replaceChildren(table([
      ["gb.channel_id", (ch) => mono(ch.channel_id)],
      ["gb.name", (ch) => ch.name || "—"],
      ["gb.status", (ch) => (ch.status ? mono(ch.status) : "—")],
      ["gb.present", (ch) => T(ch.present ? "common.yes" : "gb.gone")],
      ["gb.placed", placed],
      ["common.actions", (ch) => (ch.camera_id === null && can("camera.manage")
        ? el("button", { type: "button", dataset: { act: "place" }, onclick: () => openPlace(ch) }, T("gb.place"))
        : "")],
    ], rows, { empty: "gb.no_channels", rowAttrs: (ch) => ({ dataset: { channel: ch.channel_id } }) }));
  } catch (err) { showError(box, err); }
}

function openPlace(ch) {
  state.channel = ch;
  placeForm.reset();
  clearError(document.getElementById("place-error"));
  for (const i of placeForm.querySelectorAll(".invalid")) i.classList.remove("invalid");
  const sites = state.sites.filter((s) => s.unit_id === ch.unit_id);
  placeForm.elements.site_id.replaceChildren(...sites.map((s) => el("option", { value: s.id }, `${s.name} (${s.division_code})`)));
  placeForm.elements.name.placeholder = ch.name || "";
  document.getElementById("place-title").textContent = T("gb.place_title", { id: ch.channel_id });
  refreshCategories();
  placeForm.hidden = false;
  placeForm.scrollIntoView({ block: "nearest" });
}

placeForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const box = document.getElementById("place-error");
  clearError(box);
  const data = formData(placeForm);
  data.signage = { installed: data.signage_installed };
  delete data.signage_installed;
  if (!data.name) delete data.name;  // the name the device reports
  try {
    const got = await api("POST", `gb/channels/${state.channel.id}/place`, data);
    placeForm.hidden = true;
    flash(flashBox, T("gb.placed_as", { id: state.channel.channel_id, camera: got.camera_id }));
    await loadChannels();
  } catch (err) { showRefusal(box, placeForm, err); }
});
document.getElementById("place-cancel").addEventListener("click", () => { placeForm.hidden = true; });

// ---- the device's own reports ---------------------------------------------------------------
function reportBlock(titleKey, body, at) {
  const entries = body && typeof body === "object" ? Object.entries(body) : [];
  return el("div", { class: "report", dataset: { report: titleKey } },
    el("h3", {}, T(titleKey)),
    el("p", { class: "muted" }, at ? T("gb.reported_at", { at: fmtTime(at) }) : T("gb.never_reported")),
    entries.length
      ? el("dl", { class: "kv" }, entries.flatMap(([k, v]) => [
        el("dt", { dataset: { field: k } }, T(`gb.field.${k}`) === `gb.field.${k}` ? k : T(`gb.field.${k}`)),
        el("dd", { class: "mono" }, v === null ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v)),
      ]))
      : null,
  );
}

async function openReport(d) {
  state.device = d;
  const box = document.getElementById("report-error");
  clearError(box);
  document.getElementById("report-card").hidden = false;
  document.getElementById("report-title").textContent = T("gb.report_of", { id: d.device_id });
  try {
    const r = await api("GET", `gb/devices/${encodeURIComponent(d.device_id)}/report`);
    document.getElementById("report").replaceChildren(
      reportBlock("gb.device_info", r.info, r.info_at),
      reportBlock("gb.device_status", r.status, r.status_at),
    );
  } catch (err) { showError(box, err); }
}

// ---- loading --------------------------------------------------------------------------------
async function load() {
  [state.units, state.sites] = await Promise.all([api("GET", "units"), api("GET", "sites")]);
  deviceForm.elements.unit_id.replaceChildren(...state.units.map((u) => el("option", { value: u.id }, u.name)));
  await loadDevices();
}

await load().catch((err) => showError(document.getElementById("list-error"), err));
setInterval(() => { loadDevices(); }, 15000);
