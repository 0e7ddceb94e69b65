// What the supervision console's modules share: the picked division, errors, the filters.
import { clearError, el, showError } from "./app.js";

const root = document.getElementById("sv-root");
const errorBox = document.getElementById("sv-error");
export const jurisdiction = root.dataset.jurisdiction || "";
export const state = { division: jurisdiction, names: new Map(), tab: "overview" };

export async function guarded(work) {
  clearError(errorBox);
  try { await work(); } catch (err) { showError(errorBox, err); }
}

/** GB/T 2260 containment, as domain/divisions.py's ``contains``. */
export function inside(outer, inner) {
  if (!outer) return true;
  if (!inner) return false;
  const o = String(outer).slice(0, 6), i = String(inner).slice(0, 6);
  if (o.endsWith("0000")) return i.slice(0, 2) === o.slice(0, 2);
  if (o.endsWith("00")) return i.slice(0, 4) === o.slice(0, 4);
  return i === o;
}

/** The path with the picked division as a query parameter (the API filters by it). */
export function scoped(path) {
  if (!state.division) return path;
  return `${path}${path.includes("?") ? "&" : "?"}division=${encodeURIComponent(state.division)}`;
}

export const listOf = (body, key) => (Array.isArray(body) ? body : body?.[key] ?? body?.items ?? []);
export const divisionOf = (row) => row.division_code ?? row.division ?? row.site_division ?? "";
const codesOf = (row) => row.division_codes ?? [divisionOf(row)].filter(Boolean);
/** Rows inside the picked division (rows that name none are the API's to filter). */
export const keep = (rows) => rows.filter((r) => !codesOf(r).length || codesOf(r).some((c) => inside(state.division, c)));
export const badge = (text, cls = "") => el("span", { class: `badge ${cls}` }, text);
