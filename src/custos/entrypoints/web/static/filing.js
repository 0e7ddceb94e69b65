// The unit's filing page (docs/design/filing.md §UI): per site, the filing profile (what the
// registry does not hold), the package as it would be submitted now with its missing parts and
// their articles, the filing cases (submit, downloads, a paper decision, returns and the filing
// number), and the unit's rectification notices with their answers.
import { api, ApiError, articleText, can, clearError, el, flash, fmtTime, label, LANG, shanghaiDate, showError, table, T } from "./app.js";

const errorBox = document.getElementById("filing-error");
const flashBox = document.getElementById("flash");
const siteSelect = document.getElementById("filing-site");
const profileForm = document.getElementById("profile-form");
const personRows = document.getElementById("person-rows");
const detail = document.getElementById("case-detail");
const caseError = document.getElementById("case-error");
const writer = can("filing.write");
const state = { sites: [], site: null, profile: {}, docs: {}, current: null, notice: null };

async function guarded(work, box = errorBox) {
  clearError(box);
  try { await work(); } catch (err) { showError(box, err); }
}

const article = (ids) => (ids && ids.length ? el("span", { class: "article" }, ` [${ids.join(", ")}]`) : null);
const mono = (text) => el("span", { class: "mono" }, text ?? "");
const isOpen = (k) => ["draft", "submitted", "returned"].includes(k.state);
const overdue = (due, open = true) => !!due && open && due < shanghaiDate();

function dueCell(due, open = true) {
  if (!due) return T("filing.due_promptly");
  return el("span", { class: overdue(due, open) ? "filing-overdue" : "", dataset: { overdue: overdue(due, open) ? "1" : "0" } },
    due, overdue(due, open) ? ` · ${T("filing.overdue")}` : "");
}

// ---- the profile form: inputs name their place in the profile's JSON with data-path ----------
function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k] ??= {};
  o[keys.at(-1)] = value;
}

function addPerson(p = {}) {
  const row = document.getElementById("person-template").content.firstElementChild.cloneNode(true);
  for (const input of row.querySelectorAll("[data-item]")) input.value = p[input.dataset.item] ?? "";
  row.querySelector("[data-act=remove-person]").addEventListener("click", () => row.remove());
  personRows.append(row);
}

function fillProfile(profile) {
  state.profile = profile || {};
  for (const input of profileForm.querySelectorAll("[data-path]")) input.value = getPath(state.profile, input.dataset.path) ?? "";
  personRows.replaceChildren();
  for (const p of state.profile.responsible_persons || []) addPerson(p);
  if (!personRows.children.length) addPerson();
  state.docs = {};
  for (const doc of ["design_scheme", "acceptance_report"]) {
    const d = state.profile[doc];
    if (d && d.sha256) state.docs[doc] = d;
    showDoc(doc);
  }
  for (const input of profileForm.querySelectorAll("input, select, button, textarea")) input.disabled = !writer;
  clearFieldErrors();
}

function showDoc(doc) {
  const d = state.docs[doc];
  profileForm.querySelector(`[data-doc-state=${doc}]`).replaceChildren(
    d ? el("span", {}, mono(d.filename || ""), " ", mono(`SHA-256 ${d.sha256.slice(0, 16)}…`)) : T("filing.no_document"));
}

function collectProfile() {
  const body = {};
  for (const input of profileForm.querySelectorAll("[data-path]")) setPath(body, input.dataset.path, input.value.trim());
  body.responsible_persons = [...personRows.querySelectorAll("[data-person]")].map((row) =>
    Object.fromEntries([...row.querySelectorAll("[data-item]")].map((i) => [i.dataset.item, i.value.trim()])))
    .filter((p) => p.name || p.phone || p.role);
  for (const doc of ["design_scheme", "acceptance_report"]) body[doc] = state.docs[doc] || null;
  return body;
}

function clearFieldErrors() {
  clearError(profileForm.querySelector("[data-errors]"));
  for (const e of profileForm.querySelectorAll(".field-error")) e.remove();
  for (const i of profileForm.querySelectorAll(".invalid")) i.classList.remove("invalid");
}

/** The input a refusal's field names: "owner.name", "profile.owner.name",
 * "responsible_persons[0].phone", "responsible_persons.0.phone", "design_scheme". */
function inputFor(field) {
  const path = field.replace(/^(body|profile)\./, "").replace(/\[(\d+)\]/g, ".$1");
  const direct = profileForm.querySelector(`[data-path="${path}"]`);
  if (direct) return direct;
  const m = path.match(/^responsible_persons(?:\.(\d+))?(?:\.(\w+))?$/);
  if (m) {
    const row = personRows.querySelectorAll("[data-person]")[Number(m[1] || 0)];
    return row?.querySelector(`[data-item=${m[2] || "name"}]`) || personRows;
  }
  const doc = profileForm.querySelector(`[data-upload="${path.split(".")[0]}"]`);
  if (doc) return doc;
  const head = path.split(".")[0];
  return profileForm.querySelector(`[data-path^="${head}."]`);
}

function markFieldErrors(err) {
  for (const e of err.body?.errors || []) {
    const input = inputFor(e.field || "");
    if (!input) continue;
    input.classList.add("invalid");
    input.after(el("span", { class: "field-error", dataset: { field: e.field } }, e.text ?? e.reason ?? "", article(e.rule_id ? [e.rule_id] : null)));
  }
}

/** A document into the content-addressed store: answered with its SHA-256 and file name. */
async function upload(file) {
  const fd = new FormData();
  fd.append("file", file);
  return api("POST", `sites/${state.site.id}/filing-documents`, fd, { form: true });
}

async function uploadDocument(doc, file) {
  const out = await upload(file);
  state.docs[doc] = { sha256: out.sha256, filename: out.filename || file.name };
  showDoc(doc);
}

// ---- the package as it would be submitted now ------------------------------------------------
function renderPreview(p) {
  const box = document.getElementById("preview");
  const recipient = p.recipient || {};
  const missing = p.missing || [];
  const initial = p.initial || {};
  const pkg = p.package || {};
  const cams = pkg.cameras || [];
  const days = Object.fromEntries((pkg.storage?.retention || []).map((r) => [r.address_code, r.days]));
  box.replaceChildren(
    el("p", { id: "preview-recipient" }, `${T("filing.recipient")}: `, el("strong", {}, recipient.organ_name || "—"), " ", mono(recipient.division_code)),
    // A division the GB/T 2260 table does not know: no recipient, nothing can be filed.
    ...(p.problems || []).map((e) => el("p", { class: "filing-missing", dataset: { field: e.field } },
      e.key ? T(`msg.${e.key}`, { division_code: state.site.division_code, table: "GB/T 2260", ...(e.params || {}) }) : e.rule)),
    el("p", { id: "preview-due" }, `${T("filing.initial_due")}: `, dueCell(initial.due), article(initial.citations),
      initial.trigger_date ? el("span", { class: "muted" }, ` · ${T("filing.trigger_date")} ${initial.trigger_date}`) : ""),
    missing.length
      ? el("div", { id: "preview-missing" }, el("p", { class: "filing-missing" }, T("filing.missing_intro")),
        el("ul", {}, missing.map((m) => el("li", { class: "filing-missing", dataset: { part: m.part } },
          T(`filing.part.${m.part}`), article(m.citations)))))
      : el("p", { id: "preview-missing", class: "ok", dataset: { complete: "1" } }, T("filing.complete")),
    el("p", { id: "preview-cameras" }, T("filing.cameras_summary", { count: cams.length })),
    cams.length ? table([
      ["filing.camera_code", (c) => mono(c.address_code)],
      ["filing.camera_name", (c) => c.name ?? ""],
      ["filing.camera_type", (c) => c.device_type ?? ""],
      ["filing.camera_position", (c) => c.install_position ?? ""],
      ["filing.camera_view", (c) => c.field_of_view ?? ""],
      ["filing.camera_retention", (c) => days[c.address_code] ?? ""],
    ], cams) : null,
    el("p", { class: "muted" }, `${T("filing.package_hash")}: `, mono(p.package_sha256 || "")),
  );
  box.dataset.missing = String(missing.length);
}

// ---- cases -------------------------------------------------------------------------------------
const badge = (s) => el("span", { class: `badge case-${s}`, dataset: { state: s } }, label("filing.state", s));

async function listCases() {
  const cases = await api("GET", `filing-cases?site_id=${state.site.id}`);
  state.cases = cases;
  document.getElementById("case-list").replaceChildren(table([
    ["filing.case", (k) => String(k.id)],
    ["filing.kind", (k) => label("filing.kind", k.kind)],
    ["filing.state_label", (k) => badge(k.state)],
    ["filing.due", (k) => dueCell(k.due, isOpen(k))],
    ["filing.receipt", (k) => mono(k.submissions?.at(-1)?.receipt_number || "")],
    ["filing.filing_number", (k) => mono(k.filing_number || "")],
    ["common.actions", (k) => el("button", { type: "button", dataset: { act: "open" }, onclick: () => guarded(() => openCase(k.id)) }, T("filing.open"))],
  ], cases, { empty: "filing.no_cases", rowAttrs: (k) => ({ dataset: { case: k.id, state: k.state, kind: k.kind } }) }));
  const initialOpen = cases.some((k) => k.kind === "initial" && k.state !== "withdrawn");
  document.getElementById("case-open-initial").hidden = !writer || initialOpen;
}

function diffValue(v) {
  if (v === null || v === undefined || v === "") return "—";
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** A filed attribute's key (``cameras.<code>.field_of_view``, ``units.owner.name``,
 * ``camera_count``) in words, the camera's code kept as is. */
function attrLabel(key) {
  const parts = key.split(".");
  const word = (k) => { const t = T(`filing.attr.${k}`); return t === `filing.attr.${k}` ? k : t; };
  if (parts[0] === "cameras" && parts.length >= 2) {
    return [T("filing.part.cameras"), " ", mono(parts[1]), ...parts.slice(2).map((k) => ` · ${word(k)}`)];
  }
  return parts.map((k, i) => (i === 0 && T(`filing.part.${k}`) !== `filing.part.${k}` ? T(`filing.part.${k}`) : word(k))).join(" · ");
}

function renderDiff(diff) {
  const rows = Object.entries(diff || {}).map(([attr, d]) => ({ attr, before: d?.before, after: d?.after }));
  if (!rows.length) return [];
  return [el("h3", {}, T("filing.diff")), table([
    ["filing.attribute", (r) => attrLabel(r.attr)],
    ["filing.before", (r) => diffValue(r.before)],
    ["filing.after", (r) => diffValue(r.after)],
  ], rows, { rowAttrs: (r) => ({ dataset: { attr: r.attr } }) })];
}

async function openCase(id) {
  const k = await api("GET", `filing-cases/${id}`);
  state.current = k;
  clearError(caseError);
  detail.hidden = false;
  detail.dataset.case = String(k.id);
  detail.dataset.state = k.state;
  document.getElementById("case-title").replaceChildren(`${T("filing.case")} ${k.id} · ${label("filing.kind", k.kind)} `, badge(k.state));
  const r = k.recipient || {};
  document.getElementById("case-facts").replaceChildren(
    el("p", {}, `${T("filing.recipient")}: ${r.organ_name || "—"} `, mono(r.division_code)),
    el("p", {}, `${T("filing.due")}: `, dueCell(k.due, isOpen(k)), article(k.citations)),
  );
  document.getElementById("case-number").replaceChildren(...(k.filing_number ? [
    el("p", {}, `${T("filing.filing_number")}: `, el("span", { class: "filing-number", id: "filing-number" }, k.filing_number),
      k.decided_on ? ` · ${T("filing.decided_on")} ${k.decided_on}` : ""),
  ] : []));
  document.getElementById("case-reasons").replaceChildren(...(k.state === "returned" && k.return_reasons?.length ? [
    el("h3", {}, T("filing.return_reasons")),
    el("ul", { id: "return-reasons" }, k.return_reasons.map((x) => el("li", { class: "filing-missing" }, x))),
  ] : []));
  document.getElementById("case-diff").replaceChildren(...renderDiff(k.diff));
  document.getElementById("case-submit").hidden = !writer || !["draft", "returned"].includes(k.state);
  const latest = k.submissions?.at(-1);
  const downloads = document.getElementById("case-downloads");
  downloads.hidden = !latest;
  document.getElementById("dl-pdf").href = `/api/v1/filing-cases/${k.id}/package.pdf`;
  document.getElementById("dl-json").href = `/api/v1/filing-cases/${k.id}/package.json`;
  const zip = document.getElementById("dl-zip");
  zip.href = `/api/v1/filing-cases/${k.id}/export.zip`;
  zip.hidden = !latest || latest.channel !== "export";
  const decision = document.getElementById("decision-form");
  decision.hidden = !writer || k.state !== "submitted" || !latest || latest.channel === "internal";
  if (!decision.hidden) { decision.reset(); decision.elements.decided_on.value = shanghaiDate(); clearError(decision.querySelector("[data-errors]")); }
  const fileForm = document.getElementById("decision-file-form");
  fileForm.hidden = !writer || k.state !== "submitted" || !latest || latest.channel !== "export";
  if (!fileForm.hidden) { fileForm.reset(); clearError(fileForm.querySelector("[data-errors]")); }
  document.getElementById("case-submissions").replaceChildren(table([
    ["filing.submission", (s) => String(s.number)],
    ["filing.receipt", (s) => mono(s.receipt_number)],
    ["filing.channel", (s) => label("filing.channel", s.channel)],
    ["filing.submitted_at", (s) => `${fmtTime(s.submitted_at)} · ${s.by_name}`],
    ["filing.package_hash", (s) => mono(s.package_sha256)],
    ["filing.pdf_hash", (s) => mono(s.pdf_sha256)],
  ], k.submissions || [], { empty: "filing.no_submissions", rowAttrs: (s) => ({ dataset: { submission: s.number } }) }));
  document.getElementById("case-history").replaceChildren(table([
    ["filing.when", (e) => fmtTime(e.at)],
    ["filing.who", (e) => e.by_name || "—"],
    ["filing.what", (e) => [label("filing.action", e.action), ...historyDetail(e.detail)]],
  ], k.history || [], { rowAttrs: (e) => ({ dataset: { action: e.action } }) }));
}

function historyDetail(d) {
  if (!d) return [];
  const bits = [];
  if (d.decision) bits.push(` · ${label("filing.decision", d.decision)}`);
  if (d.receipt_number) bits.push(mono(` ${d.receipt_number}`));
  if (d.filing_number) bits.push(mono(` ${d.filing_number}`));
  if (d.reasons?.length) bits.push(` · ${d.reasons.join("；")}`);
  if (d.channel) bits.push(` · ${label("filing.channel", d.channel)}`);
  if (d.document_sha256) bits.push(` · ${T("filing.decision_scan")} `, mono(d.document_sha256.slice(0, 16)));
  return bits;
}

document.getElementById("case-open-initial").addEventListener("click", () => guarded(async () => {
  const k = await api("POST", `sites/${state.site.id}/filing-cases`, { kind: "initial" });
  flash(flashBox, T("filing.opened", { id: k.id }));
  await listCases();
  await openCase(k.id);
}));

document.getElementById("case-submit").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const channel = ev.target.elements.channel.value;
  guarded(async () => {
    const out = await api("POST", `filing-cases/${state.current.id}/submit`, { channel });
    const k = out.case || out;
    const receipt = out.receipt?.receipt_number || out.receipt_number || k.submissions?.at(-1)?.receipt_number || "";
    flash(flashBox, T("filing.submitted", { id: k.id ?? state.current.id, receipt }));
    await listCases();
    await openCase(k.id ?? state.current.id);
  }, caseError);
});

document.getElementById("decision-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const box = f.querySelector("[data-errors]");
  guarded(async () => {
    const body = { decision: f.elements.decision.value, decided_on: f.elements.decided_on.value };
    if (f.elements.filing_number.value.trim()) body.filing_number = f.elements.filing_number.value.trim();
    const reasons = f.elements.reasons.value.split("\n").map((x) => x.trim()).filter(Boolean);
    if (reasons.length) body.reasons = reasons;
    const scan = f.elements.scan.files[0];
    if (scan) {
      const up = await uploadScan(scan);
      if (up) body.document_sha256 = up;
    }
    await api("POST", `filing-cases/${state.current.id}/decision`, body);
    flash(flashBox, T("filing.decision_recorded"));
    await listCases();
    await openCase(state.current.id);
  }, box);
});

document.getElementById("decision-file-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target;
  guarded(async () => {
    const fd = new FormData();
    fd.append("file", f.elements.file.files[0]);
    await api("POST", `filing-cases/${state.current.id}/decision`, fd, { form: true });
    flash(flashBox, T("filing.decision_recorded"));
    await listCases();
    await openCase(state.current.id);
  }, f.querySelector("[data-errors]"));
});

async function uploadScan(file) {
  return (await upload(file)).sha256;
}

// ---- rectification notices ---------------------------------------------------------------------
async function listNotices() {
  const box = document.getElementById("notices-error");
  const card = document.getElementById("notices-card");
  let notices;
  try {
    notices = await api("GET", "rectifications");
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) { card.hidden = true; return; }
    throw err;
  }
  card.hidden = false;
  clearError(box);
  const zh = LANG.startsWith("zh");
  document.getElementById("notice-list").replaceChildren(table([
    ["filing.notice", (n) => String(n.id)],
    ["filing.state_label", (n) => el("span", { class: `badge notice-${n.overdue ? "overdue" : n.state}` }, label("filing.notice_state", n.state), n.overdue ? ` · ${T("filing.overdue")}` : "")],
    ["filing.notice_item", (n) => (zh ? n.text_zh : n.text_en) || n.item_key],
    ["filing.article", (n) => [article(n.rule_ids), articleText((n.articles || []).join("; "))]],
    ["filing.due", (n) => dueCell(n.due_on, n.state !== "closed")],
    ["filing.penalty", (n) => penalty(n.penalty)],
    ["filing.notice_answer", (n) => answer(n.responses?.at(-1))],
    ["common.actions", (n) => can("rectification.respond") && n.state === "open"
      ? el("button", { type: "button", dataset: { act: "respond" }, onclick: () => respondTo(n) }, T("filing.notice_respond")) : ""],
  ], notices, { empty: "filing.no_notices", rowAttrs: (n) => ({ dataset: { notice: n.id, state: n.state } }) }));
}

function answer(r) {
  if (!r) return "";
  return [r.text, ...(r.documents || []).map((d) => el("div", { class: "hint" }, mono(d.name), " ", mono(d.sha256.slice(0, 16))))];
}

/** The penalty article and its fine range per subject fined (unit, responsible person,
 * individual), in yuan. */
function penalty(p) {
  if (!p) return "";
  const f = p.fine || {};
  const ranges = ["unit", "person", "individual"]
    .filter((s) => f[`${s}_min`] != null || f[`${s}_max`] != null)
    .map((s) => {
      const values = { subject: T(`filing.fine_subject.${s}`), min: f[`${s}_min`], max: f[`${s}_max`] };
      const text = values.min == null ? T("filing.fine_up_to", values) : T("filing.fine_range", values);
      return el("div", { dataset: { fine: s } }, text);
    });
  return [...(ranges.length ? ranges : [T("filing.no_fine")]), article([p.rule_id]), articleText(p.article)];
}

function respondTo(n) {
  state.notice = n;
  const f = document.getElementById("notice-form");
  f.hidden = false;
  f.reset();
  f.dataset.notice = String(n.id);
  clearError(f.querySelector("[data-errors]"));
  document.getElementById("notice-title").textContent = T("filing.notice_answering", { id: n.id });
  f.scrollIntoView({ block: "nearest" });
}

document.getElementById("notice-cancel").addEventListener("click", () => { document.getElementById("notice-form").hidden = true; });

document.getElementById("notice-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = ev.target;
  guarded(async () => {
    const fd = new FormData();
    fd.append("text", f.elements.text.value.trim());
    for (const file of f.elements.evidence.files) fd.append("files", file);
    await api("POST", `rectifications/${state.notice.id}/respond`, fd, { form: true });
    f.hidden = true;
    flash(flashBox, T("filing.notice_answered", { id: state.notice.id }));
    await listNotices();
  }, f.querySelector("[data-errors]"));
});

// ---- the page ------------------------------------------------------------------------------------
async function showSite() {
  state.site = state.sites.find((s) => String(s.id) === siteSelect.value) || null;
  detail.hidden = true;
  if (!state.site) return;
  const s = state.site;
  document.getElementById("filing-site-facts").replaceChildren(` ${s.division_name || ""} `, mono(s.division_code), ` · ${s.address || ""}`);
  const url = new URL(location.href);
  url.searchParams.set("site", s.id);
  history.replaceState(null, "", url);
  let profile = {};
  try {
    profile = await api("GET", `sites/${s.id}/filing-profile`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  fillProfile(profile?.profile ?? profile ?? {});
  await refreshPreview();
  await listCases();
}

async function refreshPreview() {
  renderPreview(await api("GET", `sites/${state.site.id}/filing-package/preview`));
}

profileForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const box = profileForm.querySelector("[data-errors]");
  clearFieldErrors();
  (async () => {
    try {
      const saved = await api("PUT", `sites/${state.site.id}/filing-profile`, collectProfile());
      fillProfile(saved?.profile ?? saved ?? collectProfile());
      flash(flashBox, T("filing.profile_saved"));
      await refreshPreview();
      await listCases();
    } catch (err) {
      showError(box, err);
      markFieldErrors(err);
    }
  })();
});

document.getElementById("person-add").addEventListener("click", () => addPerson());

for (const input of profileForm.querySelectorAll("[data-upload]")) {
  input.addEventListener("change", () => {
    const file = input.files[0];
    if (file) guarded(() => uploadDocument(input.dataset.upload, file), profileForm.querySelector("[data-errors]"));
  });
}

siteSelect.addEventListener("change", () => guarded(showSite));

guarded(async () => {
  document.getElementById("filing-readonly").hidden = writer;
  state.sites = await api("GET", "sites");
  siteSelect.replaceChildren(...state.sites.map((s) => el("option", { value: s.id }, `${s.name} (${s.id})`)));
  const wanted = new URLSearchParams(location.search).get("site");
  if (wanted && state.sites.some((s) => String(s.id) === wanted)) siteSelect.value = wanted;
  if (!state.sites.length) {
    errorBox.hidden = false;
    errorBox.replaceChildren(el("p", {}, T("filing.no_sites")));
    return;
  }
  await showSite();
  await listNotices();
  const wantedCase = new URLSearchParams(location.search).get("case");
  if (wantedCase) await openCase(Number(wantedCase));
});
