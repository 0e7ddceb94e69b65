// ONVIF onboarding: discover on one interface, then accept each proposal into the registry (the
// placement rules apply as for a typed-in camera) or dismiss it. Nothing is added by discovery.
import { api, clearError, el, flash, fmtTime, formData, showError, table, T } from "./app.js";

const discoverForm = document.getElementById("discover-form");
const acceptForm = document.getElementById("accept-form");
const unitSelect = document.getElementById("onvif-unit");
const timeSync = document.getElementById("time-sync");
const flashBox = document.getElementById("flash");
const listBox = document.getElementById("list-error");
let sites = [];
let accepting = null;

function identity(p) {
  const parts = [p.manufacturer, p.model, p.serial && `S/N ${p.serial}`, p.firmware && `FW ${p.firmware}`];
  return [el("div", {}, parts.filter(Boolean).join(" · ") || "—"), el("div", { class: "mono muted" }, p.xaddr)];
}

function streams(p) {
  return [p.main_stream_uri, p.sub_stream_uri].filter(Boolean).map((u) => el("div", { class: "mono" }, u));
}

function drift(p) {
  if (p.clock_drift_s === null) return "—";
  return T("onvif.drift_value", { s: p.clock_drift_s.toFixed(1) });
}

function actions(p) {
  if (p.status !== "proposed") {
    return p.camera_id ? T("onvif.became_camera", { id: p.camera_id }) : `${p.decided_by || ""} ${p.decided_at ? fmtTime(p.decided_at) : ""}`;
  }
  const dismiss = async () => {
    clearError(listBox);
    try {
      await api("POST", `onvif/proposals/${p.id}/dismiss`);
      flash(flashBox, T("onvif.dismissed", { id: p.id }));
      await load();
    } catch (err) { showError(listBox, err); }
  };
  return el("div", { class: "inline-form" },
    p.probe_error ? null : el("button", { type: "button", class: "primary", dataset: { act: "accept" }, onclick: () => openAccept(p) }, T("onvif.accept")),
    el("button", { type: "button", dataset: { act: "dismiss" }, onclick: dismiss }, T("onvif.dismiss")));
}

function openAccept(p) {
  accepting = p;
  acceptForm.reset();
  document.getElementById("accept-title").textContent = T("onvif.accept_title", { id: p.id, model: p.model || "" });
  const siteSelect = document.getElementById("accept-site");
  siteSelect.replaceChildren(...sites.filter((s) => s.unit_id === p.unit_id).map((s) => el("option", { value: s.id }, `${s.id} · ${s.name}`)));
  acceptForm.elements.name.value = [p.manufacturer, p.model].filter(Boolean).join(" ");
  acceptForm.hidden = false;
  acceptForm.scrollIntoView();
}

async function load() {
  clearError(listBox);
  try {
    const rows = await api("GET", "onvif/proposals");
    document.getElementById("proposal-list").replaceChildren(table([
      ["onvif.found_at", (p) => fmtTime(p.discovered_at)],
      ["onvif.device", identity],
      ["onvif.streams", streams],
      ["onvif.clock_drift", drift],
      ["onvif.status", (p) => [T(`onvif.state.${p.status}`), p.probe_error ? el("div", { class: "error" }, p.probe_error) : null]],
      ["onvif.actions", actions],
    ], rows.reverse(), { empty: "onvif.none", rowAttrs: (p) => ({ dataset: { proposal: p.id, status: p.status } }) }));
  } catch (err) { showError(listBox, err); }
}

async function loadTimeSync() {
  if (!unitSelect.value) return;
  const got = await api("GET", `units/${unitSelect.value}/onvif-settings`);
  timeSync.checked = got.camera_time_sync;
}

discoverForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const box = document.getElementById("discover-error");
  clearError(box);
  const body = formData(discoverForm);
  const button = document.getElementById("discover-run");
  button.disabled = true;
  try {
    const found = await api("POST", "onvif/discover", body);
    flash(flashBox, T("onvif.found", { n: found.length }));
    await load();
  } catch (err) { showError(box, err); } finally { button.disabled = false; }
});

acceptForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const box = document.getElementById("accept-error");
  clearError(box);
  try {
    const got = await api("POST", `onvif/proposals/${accepting.id}/accept`, formData(acceptForm));
    acceptForm.hidden = true;
    flash(flashBox, T("onvif.accepted", { id: accepting.id, camera: got.camera_id }));
    await load();
  } catch (err) { showError(box, err); }
});
document.getElementById("accept-cancel").addEventListener("click", () => { acceptForm.hidden = true; });

unitSelect.addEventListener("change", () => loadTimeSync().catch((err) => showError(listBox, err)));
timeSync.addEventListener("change", async () => {
  try {
    await api("PUT", `units/${unitSelect.value}/onvif-settings`, { camera_time_sync: timeSync.checked });
    flash(flashBox, T(timeSync.checked ? "onvif.time_sync_on" : "onvif.time_sync_off"));
  } catch (err) { showError(listBox, err); timeSync.checked = !timeSync.checked; }
});

try {
  const [units, siteRows] = await Promise.all([api("GET", "units"), api("GET", "sites")]);
  sites = siteRows;
  unitSelect.replaceChildren(...units.map((u) => el("option", { value: u.id }, `${u.id} · ${u.name}`)));
  await loadTimeSync();
} catch (err) { showError(listBox, err); }
await load();
