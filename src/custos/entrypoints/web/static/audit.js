// The operation log (运行记录): newest first, one page at a time (keyset: "older" asks for the
// entries before the last one shown), filtered by action, actor and text; each entry in words —
// who did what to which object, with the fields that changed — and the last verification.
import { api, clearError, el, fmtTime, formData, showError, T } from "./app.js";

const list = document.getElementById("audit-list");
const older = document.getElementById("audit-older");
const form = document.getElementById("audit-filter");
const box = document.getElementById("audit-error");
const PAGE = 50;
let next = null;  // before_seq of the next (older) page

/** The catalogue's text for a key, or null where it has none. */
const known = (key, values) => { const t = T(key, values); return t === key ? null : t; };

/** Actions the log holds, grouped by what they act on, for the filter. */
const ACTIONS = [
  "auth.login", "auth.logout", "auth.revoke_all", "access.denied", "user.create", "user.password_set", "user.profile",
  "unit.create", "unit.update", "site.create", "site.update", "camera.create", "camera.update", "camera.transition",
  "filing.create", "request.create", "request.update", "request.document", "request.submit", "request.approve",
  "request.reject", "request.cancel", "request.execute", "request.expire", "live_view.open", "live.close",
  "playback.open", "view.open", "copy.open", "retrieve.open", "export.open",
  "session.end", "session.media", "export.create", "export.download", "register.export", "hold.create",
  "hold.extend", "hold.release_request", "hold.release", "hold.release_reject", "alarm.raise", "alarm.clear",
  "alarm.acknowledge", "alarm.resolve", "segment.delete", "segment.integrity_failed", "retention.purge",
  "footage.import", "audit.verify",
];

function fillActions() {
  const select = document.getElementById("audit-action");
  const groups = new Map();
  for (const a of ACTIONS) {
    const g = a.split(".")[0];
    if (!groups.has(g)) groups.set(g, el("optgroup", { label: known(`audit.object.${g}`) || g }, el("option", { value: `${g}.` }, T("audit.all_of", { what: known(`audit.object.${g}`) || g }))));
    groups.get(g).append(el("option", { value: a }, actionText(a)));
  }
  select.append(...groups.values());
}

function actionText(action) {
  return known(`audit.act.${action}`) || action;
}

/** "摄像机 12", "申请 7" … (the id as recorded). */
function target(e) {
  if (!e.object_type) return "";
  const what = known(`audit.object.${e.object_type}`) || el("span", { class: "mono" }, e.object_type);
  return [what, " ", el("span", { class: "mono" }, e.object_id ?? "")];
}

/** A recorded value as it was written: machine data, shown verbatim. */
function value(v) {
  const text = v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);
  return el("span", { class: "mono" }, text.length > 120 ? `${text.slice(0, 120)}…` : text);
}

/** A detail's name in words, or as recorded (a field name, shown as code) where it has none. */
const keyText = (k) => known(`audit.key.${k}`) || known(`field.${k}`) || el("span", { class: "mono" }, k);

/** What changed (before → after) and the details, each field by name. */
function details(e) {
  const rows = [];
  const before = e.before || {}, after = e.after || {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = JSON.stringify(before[k]), b = JSON.stringify(after[k]);
    if (a === b) continue;
    rows.push(el("li", { dataset: { key: k } }, el("span", { class: "k" }, keyText(k)), "：",
      e.before ? [value(before[k]), " → "] : null, value(after[k])));
  }
  for (const [k, v] of Object.entries(e.detail || {})) {
    rows.push(el("li", { dataset: { key: k } }, el("span", { class: "k" }, keyText(k)), "：", value(v)));
  }
  return rows.length ? el("ul", { class: "entry-detail" }, rows) : "";
}

/** Custos's own actors (the recorder, the alarm watch …) in the reader's language, each with its
 * log name beside it; a person's username as typed. */
function actorText(actor) {
  if (actor === "system") return T("enum.role.system");
  const name = known(`audit.actor.${actor}`);
  return name ? [name, " ", el("span", { class: "muted mono" }, actor)] : actor;
}

function row(r) {
  const e = r.entry;
  return el("tr", { dataset: { seq: r.seq, action: e.action } },
    el("td", {}, r.seq),
    el("td", {}, fmtTime(e.at)),
    el("td", {}, actorText(e.actor)),
    el("td", {}, known(`audit.act.${e.action}`) ? el("strong", {}, actionText(e.action)) : null,
      el("div", { class: "muted mono" }, e.action)),
    el("td", {}, el("span", { class: `badge outcome-${e.outcome}` }, known(`audit.outcome.${e.outcome}`) || e.outcome)),
    el("td", {}, target(e)),
    el("td", {}, details(e)));
}

function query(before) {
  const d = formData(form);
  const q = new URLSearchParams({ limit: PAGE });
  for (const k of ["action", "actor", "q"]) if (d[k]) q.set(k, d[k]);
  if (before) q.set("before_seq", before);
  return q;
}

async function loadPage(before) {
  clearError(box);
  try {
    const page = await api("GET", `audit/search?${query(before)}`);
    if (!before) {
      const head = ["audit.seq", "audit.at", "audit.actor", "audit.action", "audit.outcome", "audit.target", "audit.detail"];
      list.replaceChildren(page.entries.length
        ? el("table", { class: "grid" }, el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, T(h))))), el("tbody"))
        : el("p", { class: "empty" }, T("common.none")));
    }
    list.querySelector("tbody")?.append(...page.entries.map(row));
    next = page.next_before_seq;
    older.hidden = next === null;
  } catch (err) {
    showError(box, err);
  }
}

function showVerification(v, at) {
  const body = document.querySelector("#verification [data-body]");
  body.replaceChildren(
    el("p", { class: v.ok ? "verify-ok" : "verify-bad", id: "verify-result" }, v.ok ? T("audit.sound") : T("audit.broken")),
    el("dl", { class: "kv" },
      el("dt", {}, T("audit.verified_at")), el("dd", {}, fmtTime(at)),
      el("dt", {}, T("audit.entry_count")), el("dd", {}, v.entries),
      el("dt", {}, T("audit.checkpoints")), el("dd", {}, v.checkpoints ?? ""),
      v.first_bad ? [el("dt", {}, T("audit.first_bad")), el("dd", {}, `#${v.first_bad.seq} `, value(`${v.first_bad.problem} ${v.first_bad.detail || ""}`))] : null,
    ));
}

async function lastVerification() {
  const page = await api("GET", "audit/search?action=audit.verify&limit=1");
  const last = page.entries[0];
  if (!last) return;
  const d = last.entry.detail || {};
  showVerification({ ok: d.sound, entries: d.entries, checkpoints: d.checkpoints, first_bad: d.first_bad }, last.entry.at);
}

document.getElementById("verify").addEventListener("click", async () => {
  try {
    const v = await api("POST", "audit/verify");
    showVerification(v, new Date().toISOString());
    await loadPage(null);
  } catch (err) {
    showError(box, err);
  }
});
form.addEventListener("submit", (ev) => { ev.preventDefault(); loadPage(null); });
older.addEventListener("click", () => loadPage(next));
fillActions();
await Promise.all([lastVerification().catch((err) => showError(box, err)), loadPage(null)]);
