// Evidence holds: list, create, extend, ask for a release, approve or reject it (a second
// person decides). Refusals are shown inline with their fields and articles.
import { api, clearError, el, flash, fmtTime, formData, label, me, showError, table, toLocalInput, T } from "./app.js";

const form = document.getElementById("hold-form");
const flashBox = document.getElementById("flash");
const listError = document.getElementById("list-error");
const filter = document.getElementById("hold-filter");
const showReleased = document.getElementById("show-released");
let cameras = [];
let holds = [];

/** Mark the inputs a refusal names (camera_ids[0] marks camera_ids). */
function markFields(f, err) {
  for (const i of f.querySelectorAll(".invalid")) i.classList.remove("invalid");
  for (const e of err?.body?.errors || []) {
    const input = f.elements[(e.field || "").split(/[.[]/)[0]];
    if (input && input.classList) input.classList.add("invalid");
  }
}

function failed(f, err) {
  showError(f.querySelector("[data-errors]"), err);
  markFields(f, err);
}

function reset(f) {
  clearError(f.querySelector("[data-errors]"));
  markFields(f, null);
}

// ---- create ---------------------------------------------------------------------------------
function kindChanged() {
  const kind = form.elements.kind.value;
  form.elements.expires_at.disabled = kind === "important_footage";
  for (const h of form.querySelectorAll("[data-hint]")) h.hidden = h.dataset.hint !== kind;
}

function openNew() {
  form.reset();
  reset(form);
  const now = Date.now();
  form.elements.start.value = toLocalInput(new Date(now - 3600000));
  form.elements.end.value = toLocalInput(new Date(now));
  kindChanged();
  form.hidden = false;
  form.scrollIntoView({ block: "nearest" });
}

async function create(ev) {
  ev.preventDefault();
  reset(form);
  const d = formData(form);
  const body = {
    kind: d.kind, case_number: d.case_number, reason: d.reason,
    camera_ids: d.camera_ids.map(Number), start: d.start, end: d.end,
  };
  if (d.kind !== "important_footage") body.expires_at = d.expires_at ?? null;
  try {
    const h = await api("POST", "holds", body);
    form.hidden = true;
    flash(flashBox, T("holds.created", { id: h.id, case: h.case_number }));
    await load();
  } catch (err) {
    failed(form, err);
  }
}

// ---- extend, ask for release, decide ----------------------------------------------------------
function dialogFor(id, hold, fill, send) {
  const dialog = document.getElementById(id);
  const f = dialog.querySelector("form");
  f.reset();
  reset(f);
  fill(f);
  f.onsubmit = async (e) => {
    e.preventDefault();
    reset(f);
    try {
      await send(f);
      dialog.close();
      await load();
    } catch (err) {
      failed(f, err);
    }
  };
  dialog.showModal();
}

function extend(h) {
  dialogFor("extend-dialog", h, (f) => {
    f.querySelector("[data-current]").textContent = T("holds.current_expiry", { expiry: expiryText(h) });
    const base = h.expires_at ? new Date(h.expires_at) : new Date();
    f.elements.expires_at.value = toLocalInput(new Date(base.getTime() + 30 * 86400000));
    f.elements.expires_at.disabled = false;
    f.elements.indefinite.onchange = () => { f.elements.expires_at.disabled = f.elements.indefinite.checked; };
  }, async (f) => {
    const v = f.elements.indefinite.checked ? null : f.elements.expires_at.value;
    if (v === "") throw new Error(T("holds.pick_expiry"));
    await api("POST", `holds/${h.id}/extend`, { expires_at: v === null ? null : new Date(v).toISOString() });
    flash(flashBox, T("holds.extended", { case: h.case_number }));
  });
}

function askRelease(h) {
  dialogFor("release-dialog", h, () => {}, async (f) => {
    await api("POST", `holds/${h.id}/release-request`, { reason: f.elements.reason.value.trim() });
    flash(flashBox, T("holds.release_requested", { case: h.case_number }));
  });
}

async function decide(h, verb, box) {
  clearError(box);
  try {
    await api("POST", `holds/${h.id}/${verb}`);
    flash(flashBox, T(verb === "release" ? "holds.released" : "holds.release_rejected", { case: h.case_number }));
    await load();
  } catch (err) {
    showError(box, err);
  }
}

// ---- the list -------------------------------------------------------------------------------
const inForce = (h) => h.state !== "released" && (!h.expires_at || Date.parse(h.expires_at) > Date.now());
const who = (id) => (id === me.id ? T("holds.you") : T("holds.user", { id }));

function expiryText(h) {
  return h.expires_at ? fmtTime(h.expires_at) : T("holds.indefinite");
}

function stateCell(h) {
  const expired = h.state !== "released" && !inForce(h);
  return el("div", {},
    el("span", { class: `badge hold-${h.state}`, dataset: { state: h.state } }, label("enum.hold_state", h.state)),
    expired ? el("span", { class: "badge expired" }, ` ${T("holds.expired")}`) : null,
    h.state === "release_requested"
      ? el("div", { class: "muted" }, T("holds.requested_by", { who: who(h.release_requested_by), at: fmtTime(h.release_requested_at) }), el("br"), h.release_reason)
      : null,
    h.state === "released" ? el("div", { class: "muted" }, T("holds.released_by", { who: who(h.released_by), at: fmtTime(h.released_at) })) : null,
  );
}

function actionsCell(h) {
  const box = el("div", { class: "error-box", hidden: true, role: "alert", dataset: { rowErrors: h.id } });
  const out = [];
  if (h.state !== "released") {
    out.push(el("button", { type: "button", dataset: { extend: h.id }, onclick: () => extend(h) }, T("holds.extend")));
  }
  if (h.state === "active") {
    out.push(el("button", { type: "button", dataset: { releaseRequest: h.id }, onclick: () => askRelease(h) }, T("holds.request_release")));
  }
  if (h.state === "release_requested") {
    out.push(
      el("button", { type: "button", class: "primary", dataset: { approve: h.id }, onclick: () => decide(h, "release", box) }, T("holds.approve_release")),
      el("button", { type: "button", dataset: { reject: h.id }, onclick: () => decide(h, "release-reject", box) }, T("holds.reject_release")),
    );
  }
  return el("div", { class: "row-actions" }, el("div", { class: "actions" }, out), box);
}

function render() {
  const name = Object.fromEntries(cameras.map((c) => [c.id, c.name]));
  const rows = holds.filter((h) => showReleased.checked || h.state !== "released");
  const columns = [
    ["holds.id", (h) => h.id],
    ["holds.case_number", (h) => el("div", {}, el("strong", {}, h.case_number), el("div", { class: "muted" }, h.reason))],
    ["holds.kind", (h) => label("enum.hold_kind", h.kind)],
    ["holds.cameras", (h) => h.camera_ids.map((id) => el("div", {}, `${id} · ${name[id] || ""}`))],
    ["holds.range", (h) => T("holds.range_value", { from: fmtTime(h.start), to: fmtTime(h.end) })],
    ["holds.expiry", (h) => el("span", { dataset: { expiry: h.expires_at || "" } }, expiryText(h))],
    ["holds.state", stateCell],
    ["common.actions", actionsCell],
  ];
  document.getElementById("hold-list").replaceChildren(
    table(columns, rows, { empty: "holds.none", rowAttrs: (h) => ({ dataset: { hold: h.id, case: h.case_number } }) }));
}

async function load() {
  clearError(listError);
  try {
    const q = filter.value ? `?camera_id=${encodeURIComponent(filter.value)}` : "";
    holds = await api("GET", `holds${q}`);
    holds.sort((a, b) => b.id - a.id);
    render();
  } catch (err) {
    showError(listError, err);
  }
}

document.getElementById("hold-new").addEventListener("click", openNew);
form.elements.kind.addEventListener("change", kindChanged);
form.addEventListener("submit", create);
form.querySelector("[data-cancel]").addEventListener("click", () => { form.hidden = true; });
for (const d of document.querySelectorAll("dialog")) d.querySelector("[data-cancel]").addEventListener("click", () => d.close());
filter.addEventListener("change", load);
showReleased.addEventListener("change", render);

try {
  cameras = await api("GET", "cameras");
  const opts = () => cameras.map((c) => el("option", { value: c.id }, `${c.id} · ${c.name}`));
  document.getElementById("hold-cameras").replaceChildren(...opts());
  filter.append(...opts());
} catch (err) {
  showError(listError, err);
}
await load();
