// The supervision console's work (docs/design/filing.md D3, D6): filings to review (accept with
// an optional filing number, or return with reasons), inspections (plan, record each checklist
// item with a remark, a photo and a failure's deadline, sign, the report) and rectification
// notices (the unit's responses, then close, reject or escalate with the penalty).
import { api, el, flash, fmtTime, formData, me, shanghaiDate, table, T } from "./app.js";
import { badge, guarded, keep, listOf, scoped } from "./supervision_scope.js";

const flashBox = document.getElementById("flash");
const current = { kase: null, inspection: null, notice: null };
const byId = (id) => document.getElementById(id);
const articleList = (ids) => el("span", { class: "article rules" }, (ids || []).map((id) => el("span", { class: "rule" }, id)));
const button = (act, text, onclick, attrs = {}) => el("button", { type: "button", dataset: { act }, onclick, ...attrs }, text);
const caseState = (s) => T(`supervision.case_state.${s}`);

// ---- filings to review --------------------------------------------------------------------
async function filings() {
  const wanted = byId("sv-filing-state").value;
  const body = await api("GET", scoped(`supervision/filings?state=${wanted}`));
  const rows = keep(body[wanted] ?? listOf(body, "cases"));
  byId("sv-filings").replaceChildren(table([
    ["supervision.case", (k) => String(k.case_id)],
    ["supervision.unit", (k) => k.unit_name],
    ["supervision.site", (k) => k.site_name],
    ["supervision.kind", (k) => T(`supervision.kind.${k.kind}`)],
    ["supervision.state", (k) => badge(caseState(k.state), k.state)],
    ["supervision.due", (k) => k.due ?? T("supervision.promptly")],
    ["supervision.receipt", (k) => el("span", { class: "mono" }, k.receipt_number ?? "")],
    ["supervision.submitted_on", (k) => k.submitted_on ?? ""],
    ["common.actions", (k) => button("open", T("supervision.open"), () => guarded(() => openCase(k.case_id)))],
  ], rows, { empty: "supervision.none", rowAttrs: (k) => ({ dataset: { case: k.case_id, state: k.state, site: k.site_id } }) }));
}

const PARTS = ["system_profile", "units", "responsible_persons", "cameras", "storage", "network", "design_scheme", "acceptance_report"];

/** One line of a package part: a list's length, an object's plain values (and names). */
function summary(value) {
  if (Array.isArray(value)) return T("supervision.part_items", { n: value.length });
  if (value && typeof value === "object") {
    const shown = Object.entries(value).map(([k, v]) => [k, v && typeof v === "object" && !Array.isArray(v) ? v.name ?? v.filename : v])
      .filter(([, v]) => v !== null && v !== undefined && v !== "" && typeof v !== "object");
    return el("span", { class: "mono" }, shown.map(([k, v]) => `${k}: ${v}`).join(" · "));
  }
  return value === null || value === undefined ? T("supervision.missing") : String(value);
}

async function openCase(id) {
  const k = await api("GET", `filing-cases/${id}`);
  if (current.kase?.id !== k.id) resetDecision();  // a number typed for one case never carries to the next
  current.kase = k;
  const section = byId("sv-case");
  section.hidden = false;
  section.dataset.case = String(k.id);
  section.dataset.state = k.state;
  byId("sv-case-title").textContent = `${T("supervision.case")} ${k.id} · ${caseState(k.state)}`;
  const latest = k.submissions?.at(-1);
  const facts = [
    ["supervision.site", k.site_name ?? k.site_id], ["supervision.kind", T(`supervision.kind.${k.kind}`)],
    ["supervision.recipient", k.recipient?.organ_name ?? ""], ["supervision.due", k.due ?? T("supervision.promptly")],
    ["supervision.receipt", latest?.receipt_number ?? ""], ["supervision.filing_number", k.filing_number || "—"],
  ];
  byId("sv-case-facts").replaceChildren(...facts.flatMap(([key, v]) => [el("dt", {}, T(key)), el("dd", {}, String(v))]));
  const pkg = `/api/v1/filing-cases/${k.id}`;
  byId("sv-case-pdf").href = `${pkg}/package.pdf`;
  byId("sv-case-json").href = `${pkg}/package.json`;
  const pkgBody = latest ? await api("GET", `filing-cases/${k.id}/package.json`) : {};
  const partRows = PARTS.map((p) => [p, pkgBody[p]]);
  byId("sv-case-parts").replaceChildren(table([
    ["supervision.part", ([p]) => T(`supervision.part.${p}`)],
    ["supervision.content", ([, v]) => summary(v)],
  ], partRows, { empty: "supervision.none", rowAttrs: ([p]) => ({ dataset: { part: p } }) }));
  const diff = Object.entries(k.diff || {});
  byId("sv-case-diff").replaceChildren(table([
    ["supervision.attribute", ([a]) => el("span", { class: "mono" }, a)],
    ["supervision.before", ([, d]) => el("span", { class: "mono" }, JSON.stringify(d?.before ?? null))],
    ["supervision.after", ([, d]) => el("span", { class: "mono" }, JSON.stringify(d?.after ?? null))],
  ], diff, { empty: "supervision.no_diff", rowAttrs: ([a]) => ({ dataset: { attr: a } }) }));
  byId("sv-case-history").replaceChildren(table([
    ["supervision.when", (e) => fmtTime(e.at)],
    ["supervision.action", (e) => T(`supervision.action.${e.action}`)],
    ["supervision.by", (e) => e.by_name],
    ["supervision.detail", (e) => (e.detail?.reasons || []).join("；")],
  ], k.history || []));
  byId("sv-case-decide").hidden = k.state !== "submitted";
}

function resetDecision() {
  byId("sv-accept").reset();
  byId("sv-return").reset();
}

async function decide(path, body, note) {
  const k = await api("POST", `filing-cases/${current.kase.id}/${path}`, body);
  resetDecision();
  flash(flashBox, T(note, { id: k.id ?? current.kase.id, number: k.filing_number ?? "" }));
  await openCase(current.kase.id);
  await filings();
}

// ---- inspections --------------------------------------------------------------------------
let units = [];

const unitNames = new Map();

async function loadUnits() {
  units = keep((await api("GET", "supervision/units")).units || []).map((u) => ({ ...u, sites: keep(u.sites || []) })).filter((u) => u.sites.length);
  for (const u of units) unitNames.set(u.id, u.name);
}

async function planForm() {
  await loadUnits();
  const select = byId("sv-plan-unit");
  const was = select.value;
  select.replaceChildren(...units.map((u) => el("option", { value: u.id }, u.name)));
  if (was && units.some((u) => String(u.id) === was)) select.value = was;
  planSites();
  const inspectors = byId("sv-plan-inspectors");
  const chosen = new Set([...inspectors.selectedOptions].map((o) => o.value));
  if (!chosen.size) chosen.add(String(me.id));
  const people = ((await api("GET", "supervision/requests")).officers || []).filter((u) => u.role === "supervisor");
  inspectors.replaceChildren(...people.map((u) =>
    el("option", { value: u.id, selected: chosen.has(String(u.id)) }, u.full_name || u.username)));
  const date = byId("sv-plan-date");
  if (!date.value) date.value = shanghaiDate();  // today where the inspection happens
}

function planSites() {
  const unit = units.find((u) => String(u.id) === byId("sv-plan-unit").value);
  byId("sv-plan-sites").replaceChildren(...(unit?.sites || []).map((s) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", name: "site", value: s.id, checked: true }), s.name)));
}

async function inspections() {
  await planForm();
  const rows = keep(listOf(await api("GET", scoped("inspections")), "inspections"));
  byId("sv-inspections").replaceChildren(table([
    ["supervision.inspection", (i) => String(i.id)],
    ["supervision.unit", (i) => i.unit_name ?? String(i.unit_id)],
    ["supervision.date", (i) => i.planned_on ?? i.date ?? ""],
    ["supervision.state", (i) => badge(T(`supervision.inspection_state.${i.state}`), i.state)],
    ["common.actions", (i) => button("open", T("supervision.open"), () => guarded(() => openInspection(i.id)))],
  ], rows, { empty: "supervision.none", rowAttrs: (i) => ({ dataset: { inspection: i.id, state: i.state } }) }));
}

function itemRow(x, editable) {
  const result = el("select", { name: "result", disabled: !editable },
    el("option", { value: "" }, "—"),
    ...["pass", "fail", "note"].map((r) => el("option", { value: r, selected: x.result === r }, T(`supervision.result.${r}`))));
  const deadline = el("label", { class: "check", hidden: x.result !== "fail" }, T("supervision.deadline_days"),
    el("input", { name: "deadline_days", type: "number", min: 1, max: 180, value: x.due_days ?? 30, disabled: !editable }));
  result.addEventListener("change", () => { deadline.hidden = result.value !== "fail"; });
  const chosen = el("span", { class: "hint" });
  const file = el("input", { name: "photo", type: "file", accept: "image/jpeg,image/png,image/webp", hidden: true, disabled: !editable,
    onchange: () => { chosen.textContent = file.files[0]?.name ?? ""; } });
  const form = el("form", { class: "sv-item-form", dataset: { item: x.key } },
    result,
    el("input", { name: "remark", maxlength: 2000, value: x.remark ?? "", placeholder: T("supervision.remark"), disabled: !editable }),
    deadline,
    editable ? el("label", { class: "button" }, T("supervision.add_photo"), file) : "", chosen,
    el("button", { type: "submit", disabled: !editable }, T("supervision.save")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(() => recordItem(x.key, form));
  });
  const photos = (x.photos || []).map((p) => el("span", { class: "mono", title: p }, `${p.slice(0, 12)} `));
  return [form, photos.length ? el("p", { class: "hint" }, T("supervision.photos"), ": ", ...photos) : null];
}

async function openInspection(id) {
  const i = await api("GET", `inspections/${id}`);
  current.inspection = i;
  const section = byId("sv-inspection");
  section.hidden = false;
  section.dataset.inspection = String(i.id);
  section.dataset.state = i.state;
  byId("sv-inspection-title").textContent = `${T("supervision.inspection")} ${i.id} · ${T(`supervision.inspection_state.${i.state}`)}`;
  byId("sv-inspection-facts").textContent = `${i.unit_name} · ${i.planned_on} · ${(i.division_codes || []).join(", ")}`;
  const editable = i.state === "planned";
  const zh = document.documentElement.lang.startsWith("zh");
  byId("sv-items").replaceChildren(table([
    ["supervision.item", (x) => (zh ? x.text_zh : x.text_en)],
    ["supervision.article", (x) => [articleList(x.rule_ids), ...(zh ? [] : [el("span", { class: "article-text" }, ` ${(x.articles || []).join("; ")}`)])]],
    ["supervision.penalty", (x) => penalty(x.penalty)],
    ["supervision.record", (x) => itemRow(x, editable)],
  ], i.items || [], { rowAttrs: (x) => ({ dataset: { item: x.key, result: x.result ?? "" } }) }));
  const signed = (i.inspectors || []).filter((p) => p.signed_at).map((p) => `${p.full_name || p.username} · ${fmtTime(p.signed_at)}`);
  const waiting = (i.inspectors || []).filter((p) => !p.signed_at).map((p) => p.full_name || p.username);
  byId("sv-signatures").replaceChildren(
    el("p", { class: "muted" }, T("supervision.signed_by"), ": ", signed.join("；") || "—"),
    waiting.length ? el("p", { class: "muted" }, T("supervision.waiting_for"), ": ", waiting.join("；")) : "");
  const mine = (i.inspectors || []).find((p) => p.user_id === me.id);
  byId("sv-sign").hidden = i.state === "closed" || !mine || !!mine.signed_at;
  const report = byId("sv-report");
  report.hidden = i.state !== "closed";
  report.href = `/api/v1/inspections/${i.id}/report.pdf`;
}

/** A penalty article and its fine range ("national-2025:art30 罚款 1000–10000 元"). */
export function penalty(p) {
  if (!p) return "";
  const f = p.fine || {};
  const subject = ["unit", "person", "individual"].find((k) => f[`${k}_min`] != null || f[`${k}_max`] != null);
  const [min, max] = subject ? [f[`${subject}_min`], f[`${subject}_max`]] : [null, null];
  const form = min == null ? "fine_upto" : max == null ? "fine_from" : "fine_range";
  const range = subject ? T(`supervision.${form}.${subject}`, { min, max }) : T("supervision.no_fine");
  return el("span", {}, el("span", { class: "article" }, p.rule_id), " ", range);
}

async function recordItem(key, form) {
  const f = formData(form);
  const id = current.inspection.id;
  const body = { result: f.result, remark: f.remark };
  if (f.result === "fail") body.due_days = Number(f.deadline_days || 30);
  await api("PUT", `inspections/${id}/items/${encodeURIComponent(key)}`, body);
  const file = form.querySelector("input[type=file]").files[0];
  if (file) {
    const data = new FormData();
    data.append("key", key);
    data.append("file", file);
    await api("POST", `inspections/${id}/photos`, data, { form: true });
  }
  flash(flashBox, T("supervision.saved"));
  await openInspection(id);
}

async function plan(form) {
  const f = formData(form);
  const sites = [...form.querySelectorAll("input[name=site]:checked")].map((i) => Number(i.value));
  const body = { unit_id: f.unit_id, planned_on: f.planned_on, inspector_ids: f.inspector_ids.map(Number), site_ids: sites };
  const i = await api("POST", "inspections", body);
  flash(flashBox, T("supervision.planned", { id: i.id }));
  await inspections();
  await openInspection(i.id);
}

// ---- rectification notices ----------------------------------------------------------------
const noticeText = (n) => (document.documentElement.lang.startsWith("zh") ? n.text_zh : n.text_en);

async function notices() {
  if (!unitNames.size) await loadUnits();
  const rows = keep(listOf(await api("GET", "rectifications"), "notices"));
  byId("sv-notices").replaceChildren(table([
    ["supervision.notice", (n) => String(n.id)],
    ["supervision.unit", (n) => n.unit_name ?? unitNames.get(n.unit_id) ?? String(n.unit_id)],
    ["supervision.item", (n) => noticeText(n)],
    ["supervision.article", (n) => articleList(n.rule_ids)],
    ["supervision.state", (n) => badge(T(`supervision.notice_state.${n.state}`), n.state)],
    ["supervision.due", (n) => (n.overdue
      ? el("span", { class: "overdue" }, n.due_on, " ", T("supervision.overdue"), " ", penalty(n.penalty))
      : n.due_on)],
    ["common.actions", (n) => button("open", T("supervision.open"), () => guarded(() => openNotice(n.id)))],
  ], rows, { empty: "supervision.none", rowAttrs: (n) => ({ class: n.overdue ? "overdue" : "", dataset: { notice: n.id, state: n.state, item: n.item_key, overdue: String(!!n.overdue) } }) }));
  return rows;
}

async function openNotice(id) {
  const n = await api("GET", `rectifications/${id}`);
  current.notice = n;
  const section = byId("sv-notice");
  section.hidden = false;
  section.dataset.notice = String(n.id);
  section.dataset.state = n.state;
  byId("sv-notice-title").textContent = `${T("supervision.notice")} ${n.id} · ${T(`supervision.notice_state.${n.state}`)}`;
  const facts = [
    ["supervision.unit", n.unit_name ?? unitNames.get(n.unit_id) ?? n.unit_id], ["supervision.item", noticeText(n)],
    ["supervision.article", articleList(n.rule_ids)], ["supervision.remark", n.remark || "—"],
    ["supervision.due", el("span", { class: n.overdue ? "overdue" : "" }, n.due_on, n.overdue ? ` ${T("supervision.overdue")}` : "")],
    ["supervision.penalty", penalty(n.penalty) || "—"],
  ];
  byId("sv-notice-facts").replaceChildren(...facts.flatMap(([key, v]) => [el("dt", {}, T(key)), el("dd", {}, v)]));
  byId("sv-notice-responses").replaceChildren(table([
    ["supervision.when", (r) => fmtTime(r.at)],
    ["supervision.by", (r) => r.by_name ?? r.by ?? ""],
    ["supervision.response", (r) => r.text ?? ""],
    ["supervision.evidence", (r) => (r.documents || []).map((d) => el("span", { class: "mono", title: d.sha256 }, `${d.name} ${d.sha256.slice(0, 12)} `))],
  ], n.responses || [], { empty: "supervision.no_response" }));
  byId("sv-notice-history").replaceChildren(table([
    ["supervision.when", (h) => fmtTime(h.at)],
    ["supervision.by", (h) => h.by ?? ""],
    ["supervision.outcome", (h) => T(`supervision.outcome.${h.outcome}`)],
    ["supervision.reason", (h) => [h.reason || "", ...(h.penalty ? [" ", penalty(h.penalty), " ", T("supervision.amount", { amount: h.penalty.amount })] : [])]],
  ], n.history || [], { empty: "supervision.none" }));
  const choices = (n.penalties || []).filter((p) => !p.no_fine);
  byId("sv-verify-article").replaceChildren(...choices.map((p) =>
    el("option", { value: p.rule_id, selected: p.rule_id === n.penalty?.rule_id }, p.rule_id)));
  byId("sv-verify").hidden = n.state === "closed";
}

async function verify(form) {
  const f = formData(form);
  const body = { outcome: f.outcome };
  if (f.reason) body.reason = f.reason;
  if (f.outcome === "escalate") body.penalty = { rule_id: f.article, subject: "unit", amount: f.amount };
  const n = await api("POST", `rectifications/${current.notice.id}/verify`, body);
  flash(flashBox, T("supervision.verified", { id: n.id ?? current.notice.id }));
  await notices();
  await openNotice(current.notice.id);
}

// ---- wiring -------------------------------------------------------------------------------
const LOADERS = { filings, inspections, notices };

export async function reloadWork(tab) {
  const loader = LOADERS[tab];
  if (loader) await loader();
}

export function initWork() {
  byId("sv-filing-state").addEventListener("change", () => guarded(filings));
  byId("sv-accept").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = formData(ev.target).filing_number;
    guarded(() => decide("accept", { filing_number: number || null }, "supervision.accepted"));
  });
  byId("sv-return").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reasons = ev.target.elements.reasons.value.split("\n").map((r) => r.trim()).filter(Boolean);
    guarded(() => decide("return", { reasons }, "supervision.returned"));
  });
  byId("sv-plan-unit").addEventListener("change", planSites);
  byId("sv-plan").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(() => plan(ev.target));
  });
  byId("sv-sign").addEventListener("click", () => guarded(async () => {
    await api("POST", `inspections/${current.inspection.id}/sign`, {});
    flash(flashBox, T("supervision.signed"));
    await openInspection(current.inspection.id);
    await inspections();
  }));
  byId("sv-verify").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(() => verify(ev.target));
  });
}
