// Registry: units, sites, cameras — list, search, create, edit; refusals and findings inline.
import { api, articleText, can, clearError, el, flash, formData, label, showError, table, T } from "./app.js";
import { categoryPicker, watchCode } from "./camera_form.js";

const state = { units: [], sites: [], cameras: [], health: {} };

function tabs() {
  for (const b of document.querySelectorAll("[data-tab]")) {
    b.addEventListener("click", () => {
      for (const o of document.querySelectorAll("[data-tab]")) o.classList.toggle("active", o === b);
      for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${b.dataset.tab}`;
    });
  }
  for (const b of document.querySelectorAll("[data-needs]")) b.hidden = !can(b.dataset.needs);
}

function matches(row, q, fields) {
  if (!q) return true;
  q = q.toLowerCase();
  return fields.some((f) => String(row[f] ?? "").toLowerCase().includes(q));
}

function openForm(form, row, fill) {
  form.hidden = false;
  form.reset();
  clearError(form.querySelector("[data-errors]"));
  form.elements.id.value = row ? row.id : "";
  form.querySelector("h2").textContent = row ? form.querySelector("h2").dataset.titleEdit : form.querySelector("h2").dataset.titleNew;
  for (const i of form.querySelectorAll("[data-create-only]")) i.disabled = !!row;
  if (row) fill(row);
  afterOpen.get(form)?.();
  form.scrollIntoView({ block: "nearest" });
}

// The camera form decodes its device code and filters its categories as the user types.
const cameraForm = document.getElementById("camera-form");
const refreshCode = watchCode(cameraForm.elements.address_code, document.getElementById("code-parts"));
const refreshCategories = categoryPicker(document.getElementById("category-select"),
  document.getElementById("category-search"), document.getElementById("category-chips"));
const afterOpen = new Map([[cameraForm, () => { refreshCode(); refreshCategories(); }]]);

function setMulti(select, values) {
  for (const o of select.options) o.selected = values.includes(o.value);
}

function markFields(form, err) {
  for (const i of form.querySelectorAll(".invalid")) i.classList.remove("invalid");
  for (const e of err.body?.errors || []) {
    const name = (e.field || "").split(/[.[]/)[0];
    const input = form.elements[name];
    if (input && input.classList) input.classList.add("invalid");
  }
}

// ---- cameras --------------------------------------------------------------------------------
function renderCameras() {
  const q = document.getElementById("camera-search").value;
  const siteName = Object.fromEntries(state.sites.map((s) => [s.id, s.name]));
  const rows = state.cameras.filter((c) => matches(c, q, ["name", "address_code", "id"]) || (siteName[c.site_id] || "").toLowerCase().includes(q.toLowerCase()));
  const columns = [
    ["camera.id", (c) => c.id],
    ["camera.name", (c) => c.name],
    ["camera.site", (c) => siteName[c.site_id] || c.site_id],
    ["camera.address_code", (c) => c.address_code ?? "—"],
    ["camera.state", (c) => label("enum.lifecycle", c.state)],
    ["camera.status", (c) => {
      const h = state.health[c.id];
      return h ? el("span", { class: `badge ${h.state || "unknown"}` }, h.state ? label("enum.recorder", h.state) : T("enum.recorder.unknown"), h.reason ? ` · ${label("enum.reason", h.reason)}` : "") : "";
    }],
    ["camera.retention", (c) => T("camera.retention_value", { days: c.effective_retention_days })],
    ["camera.warnings", (c) => c.warnings.map((w) => el("div", { class: "finding warn" }, w.key ? T(`msg.${w.key}`, w.params) : w.reason, " ", el("span", { class: "article" }, `[${w.rule_ids.join(", ")}]`)))],
    ["common.actions", (c) => can("camera.manage") ? el("button", { type: "button", onclick: () => editCamera(c) }, T("common.edit")) : ""],
  ];
  document.getElementById("camera-list").replaceChildren(table(columns, rows, { rowAttrs: (c) => ({ dataset: { camera: c.id } }) }));
}

function editCamera(c) {
  const f = document.getElementById("camera-form");
  openForm(f, c, () => {
    for (const k of ["name", "device_type", "manufacturer", "model", "install_position", "field_of_view"]) f.elements[k].value = c[k] ?? "";
    f.elements.address_code.value = c.address_code ?? "";
    f.elements.site_id.value = c.site_id;
    f.elements.main_stream_url.value = "";
    f.elements.main_stream_url.placeholder = c.main_stream_url || "rtsp://";
    f.elements.retention_days.value = c.retention_days ?? "";
    f.elements.covers_public_area.checked = c.covers_public_area;
    f.elements.captures_public_area_outside_premises.checked = c.captures_public_area_outside_premises;
    f.elements.signage_installed.checked = !!c.signage.installed;
    f.elements.ptz.checked = c.ptz;
    setMulti(f.elements.location_categories, c.location_categories);
  });
}

async function saveCamera(ev) {
  ev.preventDefault();
  const f = ev.target;
  const data = formData(f);
  const id = f.elements.id.value;
  delete data.id;
  data.signage = { installed: data.signage_installed };
  delete data.signage_installed;
  if (id) {
    delete data.address_code;
    if (!data.main_stream_url) delete data.main_stream_url;
  }
  await saveRecord(f, "cameras", id, data);
}

// Create (POST) or update (PATCH, when `id` is set) one registry record from form `f`; then hide
// the form and reload, or show the refusal on the form.
async function saveRecord(f, path, id, body) {
  try {
    if (id) await api("PATCH", `${path}/${id}`, body);
    else await api("POST", path, body);
    f.hidden = true;
    flash(document.getElementById("flash"), T("common.saved"));
    await load();
  } catch (err) {
    showError(f.querySelector("[data-errors]"), err);
    markFields(f, err);
  }
}

// ---- sites ----------------------------------------------------------------------------------
function renderSites() {
  const q = document.getElementById("site-search").value;
  const unitName = Object.fromEntries(state.units.map((u) => [u.id, u.name]));
  const rows = state.sites.filter((s) => matches(s, q, ["name", "address", "division_code", "id"]));
  const columns = [
    ["site.id", (s) => s.id],
    ["site.name", (s) => s.name],
    ["site.unit", (s) => unitName[s.unit_id] || s.unit_id],
    ["site.division_code", (s) => s.division_code],
    ["site.address", (s) => s.address],
    ["site.rule_packs", (s) => s.rule_packs.join(", ")],
    ["common.actions", (s) => [
      can("compliance.read") ? el("button", { type: "button", onclick: () => findings(s) }, T("site.findings")) : "",
      can("registry.write") ? el("button", { type: "button", onclick: () => editSite(s) }, T("common.edit")) : "",
    ]],
  ];
  document.getElementById("site-list").replaceChildren(table(columns, rows));
}

async function findings(site) {
  const box = document.getElementById("site-findings");
  box.hidden = false;
  box.querySelector("h2").textContent = T("site.findings_of", { name: site.name });
  const body = box.querySelector("[data-body]");
  try {
    const report = await api("GET", `compliance/sites/${site.id}`);
    body.replaceChildren(findingList(report.findings));
  } catch (err) {
    showError(body, err);
  }
}

export function findingList(items) {
  if (!items.length) return el("p", { class: "empty" }, T("site.no_findings"));
  return el("ul", { class: "findings" }, items.map((f) =>
    el("li", { class: `finding ${f.severity}` },
      el("span", { class: "badge" }, label("enum.severity", f.severity)), " ",
      f.subject ? `${f.subject}: ` : "", f.text ?? f.message, " ",
      el("span", { class: "article" }, `[${f.rule_ids.join(", ")}]`),
      f.articles?.length ? articleText(f.articles.join("; ")) : null,
      f.due ? el("span", { class: "due" }, ` ${T("site.due", { date: f.due })}`) : null,
    )));
}

function editSite(s) {
  const f = document.getElementById("site-form");
  openForm(f, s, () => {
    for (const k of ["name", "division_code", "address", "public_place_article"]) f.elements[k].value = s[k] ?? "";
    f.elements.unit_id.value = s.unit_id;
    f.elements.latitude.value = s.latitude ?? "";
    f.elements.longitude.value = s.longitude ?? "";
    for (const k of ["is_public_place", "is_public_road_or_square", "is_classified"]) f.elements[k].checked = s[k];
    setMulti(f.elements.categories, s.categories);
  });
}

async function saveSite(ev) {
  ev.preventDefault();
  const f = ev.target;
  const data = formData(f);
  const id = f.elements.id.value;
  delete data.id;
  if (id) delete data.unit_id;
  await saveRecord(f, "sites", id, data);
}

// ---- units ----------------------------------------------------------------------------------
function renderUnits() {
  const q = document.getElementById("unit-search").value;
  const rows = state.units.filter((u) => matches(u, q, ["name", "credit_code", "id"]));
  const columns = [
    ["unit.id", (u) => u.id],
    ["unit.name", (u) => u.name],
    ["unit.credit_code", (u) => u.credit_code],
    ["unit.kind", (u) => label("enum.unit_kind", u.kind)],
    ["unit.contacts", (u) => u.contacts.map((c) => `${c.name} ${c.phone}`).join("; ")],
    ["common.actions", (u) => can("registry.write") ? el("button", { type: "button", onclick: () => editUnit(u) }, T("common.edit")) : ""],
  ];
  document.getElementById("unit-list").replaceChildren(table(columns, rows));
}

function editUnit(u) {
  const f = document.getElementById("unit-form");
  openForm(f, u, () => {
    for (const k of ["name", "credit_code", "kind"]) f.elements[k].value = u[k];
    const c = u.contacts[0] || {};
    f.elements.contact_name.value = c.name || "";
    f.elements.contact_phone.value = c.phone || "";
    f.elements.contact_role.value = c.role || "";
  });
}

async function saveUnit(ev) {
  ev.preventDefault();
  const f = ev.target;
  const d = formData(f);
  const body = { name: d.name, credit_code: d.credit_code, kind: d.kind, contacts: [] };
  if (d.contact_name) body.contacts.push({ name: d.contact_name, phone: d.contact_phone, role: d.contact_role });
  const id = f.elements.id.value;
  await saveRecord(f, "units", id, body);
}

// ---- loading ----------------------------------------------------------------------------------
async function load() {
  [state.units, state.sites, state.cameras] = await Promise.all([api("GET", "units"), api("GET", "sites"), api("GET", "cameras")]);
  const siteSel = document.querySelector("#camera-form [name=site_id]");
  siteSel.replaceChildren(...state.sites.map((s) => el("option", { value: s.id }, `${s.name} (${s.division_code})`)));
  const unitSel = document.querySelector("#site-form [name=unit_id]");
  unitSel.replaceChildren(...state.units.map((u) => el("option", { value: u.id }, u.name)));
  renderCameras(); renderSites(); renderUnits();
  const health = await Promise.all(state.cameras.map((c) => api("GET", `cameras/${c.id}/health`).catch(() => null)));
  state.health = Object.fromEntries(health.filter(Boolean).map((h) => [h.camera_id, h]));
  renderCameras();
}

tabs();
// ?camera=<id> (the GB/T 28181 page links a placed channel so): the camera list searched for it
const wantedCamera = new URLSearchParams(location.search).get("camera");
if (wantedCamera) document.getElementById("camera-search").value = wantedCamera;
document.getElementById("camera-search").addEventListener("input", renderCameras);
document.getElementById("site-search").addEventListener("input", renderSites);
document.getElementById("unit-search").addEventListener("input", renderUnits);
document.getElementById("camera-new").addEventListener("click", () => openForm(document.getElementById("camera-form"), null));
document.getElementById("site-new").addEventListener("click", () => openForm(document.getElementById("site-form"), null));
document.getElementById("unit-new").addEventListener("click", () => openForm(document.getElementById("unit-form"), null));
document.getElementById("camera-form").addEventListener("submit", saveCamera);
document.getElementById("site-form").addEventListener("submit", saveSite);
document.getElementById("unit-form").addEventListener("submit", saveUnit);
for (const b of document.querySelectorAll("[data-cancel]")) b.addEventListener("click", () => { b.closest("form").hidden = true; });
load().catch((err) => showError(document.getElementById("flash"), err));
