// The supervision console's work (docs/design/filing.md D3, D6): filings to review (accept with
// an optional filing number, or return with reasons), inspections (plan, record each checklist
// item with a remark, a photo and a failure's deadline, sign, the report) and rectification
// notices (the unit's responses, then close, reject or escalate with the penalty).
import { api, el, flash, fmtTime, formData, me, table, T } from "./app.js";
import { badge, guarded, keep, listOf, scoped } from "./supervision_scope.js";

const flashBox = document.getElementById("flash");
const current = { kase: null, inspection: null, notice: null };
const byId = (id) => document.getElementById(id);
const articleList = (cites) => el("span", { class: "article" }, (cites || []).map((c) => c.rule_id ?? c.id ?? c).join(", "));
const button = (act, text, onclick, attrs = {}) => el("button", { type: "button", dataset: { act }, onclick, ...attrs }, text);
const caseState = (s) => T(`supervision.case_state.${s}`);

// ---- filings to review --------------------------------------------------------------------
async function filings() {
  const wanted = byId("sv-filing-state").value;
  const rows = keep(listOf(await api("GET", scoped(`supervision/filings?state=${wanted}`)), "cases"));
  byId("sv-filings").replaceChildren(table([
    ["supervision.case", (k) => String(k.id)],
    ["supervision.site", (k) => k.site_name ?? String(k.site_id)],
    ["supervision.unit", (k) => k.unit_name ?? String(k.unit_id)],
    ["supervision.kind", (k) => T(`supervision.kind.${k.kind}`)],
    ["supervision.state", (k) => badge(caseState(k.state), k.state)],
    ["supervision.due", (k) => el("span", { class: k.overdue ? "overdue" : "" }, k.due ?? T("supervision.promptly"))],
    ["supervision.submitted_at", (k) => fmtTime(k.submissions?.at?.(-1)?.submitted_at ?? k.submitted_at)],
    ["common.actions", (k) => button("open", T("supervision.open"), () => guarded(() => openCase(k.id)))],
  ], rows, { empty: "supervision.none", rowAttrs: (k) => ({ dataset: { case: k.id, state: k.state } }) }));
}

function summary(value) {
  if (Array.isArray(value)) return T("supervision.part_items", { n: value.length });
  if (value && typeof value === "object") {
    return Object.entries(value).filter(([, v]) => v !== null && typeof v !== "object").map(([k, v]) => `${k}: ${v}`).join(" · ");
  }
  return value === null || value === undefined ? "" : String(value);
}

async function openCase(id) {
  const k = await api("GET", `filing-cases/${id}`);
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
  let parts = k.parts ?? null;
  if (!parts && latest) parts = await api("GET", `filing-cases/${k.id}/package.json`).catch(() => null);
  const partRows = parts ? Object.entries(parts.parts ?? parts).filter(([p]) => !["format", "sha256", "version"].includes(p)) : [];
  byId("sv-case-parts").replaceChildren(table([
    ["supervision.part", ([p]) => T(`supervision.part.${p}`)],
    ["supervision.content", ([, v]) => summary(v)],
  ], partRows, { empty: "supervision.none", rowAttrs: ([p]) => ({ dataset: { part: p } }) }));
  const diff = Object.entries(k.diff || {});
  byId("sv-case-diff").replaceChildren(table([
    ["supervision.attribute", ([a]) => el("span", { class: "mono" }, a)],
    ["supervision.before", ([, d]) => JSON.stringify(d?.before ?? null)],
    ["supervision.after", ([, d]) => JSON.stringify(d?.after ?? null)],
  ], diff, { empty: "supervision.no_diff" }));
  byId("sv-case-history").replaceChildren(table([
    ["supervision.when", (e) => fmtTime(e.at)],
    ["supervision.action", (e) => T(`supervision.action.${e.action}`)],
    ["supervision.by", (e) => e.by_name],
    ["supervision.detail", (e) => (e.detail?.reasons || []).join("；")],
  ], k.history || []));
  byId("sv-case-decide").hidden = k.state !== "submitted";
}

async function decide(path, body, note) {
  const k = await api("POST", `filing-cases/${current.kase.id}/${path}`, body);
  flash(flashBox, T(note, { id: k.id ?? current.kase.id, number: k.filing_number ?? "" }));
  await openCase(current.kase.id);
  await filings();
}

// ---- inspections --------------------------------------------------------------------------
let units = [];

async function planForm() {
  units = keep(listOf(await api("GET", scoped("supervision/units")), "units"));
  const select = byId("sv-plan-unit");
  const was = select.value;
  select.replaceChildren(...units.map((u) => el("option", { value: u.id ?? u.unit_id }, u.name)));
  if (was && units.some((u) => String(u.id ?? u.unit_id) === was)) select.value = was;
  planSites();
  const inspectors = byId("sv-plan-inspectors");
  if (!inspectors.options.length) {
    inspectors.append(el("option", { value: me.id, selected: true }, me.full_name || me.username));
  }
  const date = byId("sv-plan-date");
  if (!date.value) date.value = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
}

function planSites() {
  const unit = units.find((u) => String(u.id ?? u.unit_id) === byId("sv-plan-unit").value);
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
  const form = el("form", { class: "sv-item-form", dataset: { item: x.key } },
    result,
    el("input", { name: "remark", maxlength: 2000, value: x.remark ?? "", placeholder: T("supervision.remark"), disabled: !editable }),
    el("label", { class: "check" }, T("supervision.deadline_days"),
      el("input", { name: "deadline_days", type: "number", min: 1, max: 180, value: x.deadline_days ?? 30, disabled: !editable })),
    el("input", { name: "photo", type: "file", accept: "image/*", disabled: !editable }),
    el("button", { type: "submit", disabled: !editable }, T("supervision.save")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(() => recordItem(x.key, form));
  });
  const photos = (x.photos || []).map((p) => el("span", { class: "mono" }, String(p.sha256 ?? p).slice(0, 12)));
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
  byId("sv-inspection-facts").textContent = `${i.unit_name ?? i.unit_id} · ${i.planned_on ?? i.date ?? ""}`;
  const editable = i.state !== "closed" && i.state !== "signed";
  const zh = document.documentElement.lang.startsWith("zh");
  byId("sv-items").replaceChildren(table([
    ["supervision.item", (x) => (zh ? x.text_zh : x.text_en) ?? x.text ?? x.key],
    ["supervision.article", (x) => articleList(x.citations ?? x.articles)],
    ["supervision.penalty", (x) => (x.penalised || x.penalty ? penalty(x.penalty ?? x.fine) : "")],
    ["supervision.record", (x) => itemRow(x, editable)],
  ], listOf(i.checklist ?? i.items ?? [], "items"), { rowAttrs: (x) => ({ dataset: { item: x.key, result: x.result ?? "" } }) }));
  const signed = (i.signatures || []).map((s) => `${s.by_name ?? s.name} · ${fmtTime(s.at ?? s.signed_at)}`);
  byId("sv-signatures").replaceChildren(...(signed.length ? [el("p", { class: "muted" }, T("supervision.signed_by"), ": ", signed.join("；"))] : []));
  byId("sv-sign").hidden = !editable || (i.signatures || []).some((s) => s.user_id === me.id || s.by_user === me.id);
  const report = byId("sv-report");
  report.hidden = i.state !== "closed";
  report.href = `/api/v1/inspections/${i.id}/report.pdf`;
}

export function penalty(p) {
  if (!p) return T("supervision.penalised");
  if (typeof p === "string") return p;
  const range = p.min !== undefined || p.max !== undefined ? T("supervision.fine_range", { min: p.min ?? 0, max: p.max ?? "" }) : "";
  return [p.article ?? p.rule_id ?? "", range, p.text ?? ""].filter(Boolean).join(" ");
}

async function recordItem(key, form) {
  const f = formData(form);
  const id = current.inspection.id;
  const body = { result: f.result, remark: f.remark };
  if (f.result === "fail") body.deadline_days = Number(f.deadline_days || 30);
  await api("PUT", `inspections/${id}/items/${encodeURIComponent(key)}`, body);
  const file = form.querySelector("input[type=file]").files[0];
  if (file) {
    const data = new FormData();
    data.append("item", key);
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
async function notices() {
  const rows = keep(listOf(await api("GET", scoped("rectifications")), "rectifications"));
  byId("sv-notices").replaceChildren(table([
    ["supervision.notice", (n) => String(n.id)],
    ["supervision.unit", (n) => n.unit_name ?? String(n.unit_id)],
    ["supervision.item", (n) => n.item_text ?? n.text ?? n.item_key ?? ""],
    ["supervision.article", (n) => articleList(n.citations ?? (n.article ? [n.article] : []))],
    ["supervision.state", (n) => badge(T(`supervision.notice_state.${n.state}`), n.state)],
    ["supervision.due", (n) => el("span", { class: n.overdue ? "overdue" : "" }, n.due ?? "", n.overdue ? ` ${T("supervision.overdue")} ${penalty(n.fine ?? n.penalty)}` : "")],
    ["common.actions", (n) => button("open", T("supervision.open"), () => guarded(() => openNotice(n)))],
  ], rows, { empty: "supervision.none", rowAttrs: (n) => ({ class: n.overdue ? "overdue" : "", dataset: { notice: n.id, state: n.state } }) }));
  return rows;
}

async function openNotice(row) {
  const n = await api("GET", `rectifications/${row.id}`).catch(() => row);
  current.notice = n;
  const section = byId("sv-notice");
  section.hidden = false;
  section.dataset.notice = String(n.id);
  section.dataset.state = n.state;
  byId("sv-notice-title").textContent = `${T("supervision.notice")} ${n.id} · ${T(`supervision.notice_state.${n.state}`)}`;
  const facts = [
    ["supervision.unit", n.unit_name ?? n.unit_id], ["supervision.item", n.item_text ?? n.text ?? n.item_key ?? ""],
    ["supervision.due", n.due ?? ""], ["supervision.penalty", penalty(n.fine ?? n.penalty)],
  ];
  byId("sv-notice-facts").replaceChildren(...facts.flatMap(([key, v]) => [el("dt", {}, T(key)), el("dd", {}, String(v))]));
  byId("sv-notice-responses").replaceChildren(table([
    ["supervision.when", (r) => fmtTime(r.at ?? r.responded_at)],
    ["supervision.by", (r) => r.by_name ?? ""],
    ["supervision.response", (r) => r.text ?? ""],
    ["supervision.evidence", (r) => (r.evidence || r.documents || []).map((d) => el("span", { class: "mono" }, String(d.sha256 ?? d).slice(0, 12), " "))],
  ], n.responses || [], { empty: "supervision.no_response" }));
  const articles = [n.fine ?? n.penalty].filter((p) => p && typeof p === "object").map((p) => p.article ?? p.rule_id).filter(Boolean);
  byId("sv-verify-article").replaceChildren(el("option", { value: "" }, "—"), ...articles.map((a) => el("option", { value: a, selected: true }, a)));
  byId("sv-verify").hidden = ["closed", "escalated"].includes(n.state);
}

async function verify(form) {
  const f = formData(form);
  const body = { outcome: f.outcome };
  if (f.reason) body.reason = f.reason;
  if (f.outcome === "escalate") body.penalty = { article: f.article, amount: f.amount };
  const n = await api("POST", `rectifications/${current.notice.id}/verify`, body);
  flash(flashBox, T("supervision.verified", { id: n.id ?? current.notice.id }));
  const rows = await notices();
  await openNotice(rows.find((r) => r.id === (n.id ?? current.notice.id)) ?? n);
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
