// The registration register (登记): filters, the entries, CSV and printable form.
import { api, el, fmtTime, formData, label, showError, clearError, table, T } from "./app.js";

const form = document.getElementById("register-filter");

function query() {
  const d = formData(form);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(d)) if (v !== null && v !== "" && v !== undefined) q.set(k, v);
  return q;
}

/** "work_id 6101…; certifying_document X" → each credential's label and number. */
function credentials(text) {
  return text.split("; ").filter(Boolean).map((c) => {
    const [type, ...number] = c.split(" ");
    return `${label("enum.credential", type)} ${number.join(" ")}`;
  }).join("、");
}

function person(p) {
  const role = label("enum.role", p.role);
  return `${p.name}（${role}${p.credential ? "，" + credentials(p.credential) : ""}）`;
}

/** Live viewing is registered with the system's own purpose; the others with the user's words. */
function purpose(e) {
  return e.kind === "live_view" ? T("register.live_purpose") : e.purpose;
}

const older = document.getElementById("register-older");
const PAGE = 50;
let next = null;  // the (time, id) keyset of the last entry shown

const columns = [
  ["register.at", (e) => fmtTime(e.at)],
  ["register.kind", (e) => label("enum.register_kind", e.kind)],
  ["register.persons", (e) => e.persons.map(person).join("；")],
  ["register.organ", (e) => e.organ],
  ["register.purpose", purpose],
  ["register.cameras", (e) => e.camera_ids.join(", ")],
  ["register.range", (e) => (e.start ? `${fmtTime(e.start)} – ${fmtTime(e.end)}` : "")],
  ["register.ended", (e) => fmtTime(e.ended_at)],
  ["register.request", (e) => e.request_id ?? ""],
  ["register.output", (e) => (e.output_sha256 ? el("span", { class: "mono" }, e.output_sha256.slice(0, 16) + "…") : "")],
];
const rowAttrs = (e) => ({ dataset: { entry: e.id, kind: e.kind } });

/** One page, newest first; "older" asks for the entries before the last one shown (keyset). */
async function load(ev, more = false) {
  ev?.preventDefault();
  const box = document.getElementById("register-error");
  clearError(box);
  const q = query();
  const exportQ = new URLSearchParams([...q].filter(([k]) => ["kind", "since", "until", "unit_id"].includes(k)));
  document.getElementById("export-csv").href = `/api/v1/register/export.csv?${exportQ}`;
  document.getElementById("export-form").href = `/api/v1/register/form?${exportQ}`;
  q.set("limit", PAGE);
  if (more && next) { q.set("before_at", next.at); q.set("before_id", next.id); }
  try {
    const page = await api("GET", `register/page?${q}`);
    const target = document.getElementById("register-list");
    const body = target.querySelector("tbody");
    if (more && body) body.append(...table(columns, page.entries, { rowAttrs }).querySelectorAll("tbody tr"));
    else target.replaceChildren(table(columns, page.entries, { rowAttrs }));
    next = page.next_before_id === null ? null : { at: page.next_before_at, id: page.next_before_id };
    older.hidden = next === null;
  } catch (err) {
    showError(box, err);
  }
}

form.addEventListener("submit", load);
older.addEventListener("click", () => load(null, true));
load();
