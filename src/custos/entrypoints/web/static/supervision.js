// The bureau's supervision console (docs/design/filing.md D5): the division tree from the
// supervisor's jurisdiction (picking a division filters every tab), the overview, the league
// table and the map of the sites. Filings, inspections and notices are in supervision_work.js.
import { api, el, table, T } from "./app.js";
import { badge, divisionOf, guarded, inside, jurisdiction, keep, listOf, scoped, state } from "./supervision_scope.js";
import { initWork, reloadWork } from "./supervision_work.js";

const root = document.getElementById("sv-root");
// ---- the division tree --------------------------------------------------------------------
function levelOf(code) {
  if (code.endsWith("0000")) return "province";
  if (code.endsWith("00")) return "city";
  return "county";
}

function treeItem(d) {
  const code = d.code;
  state.names.set(code, d.full_name || d.name);
  const children = el("ul", { hidden: true });
  const leaf = (d.level || levelOf(code)) === "county";
  const toggle = el("button", { type: "button", class: "toggle", "aria-expanded": "false", disabled: leaf }, leaf ? "·" : "▸");
  toggle.addEventListener("click", () => guarded(async () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    if (!open && !children.childElementCount) {
      const kids = listOf(await api("GET", `divisions?parent=${code}`), "divisions");
      children.replaceChildren(...kids.map(treeItem));
    }
    children.hidden = open;
    toggle.setAttribute("aria-expanded", String(!open));
    toggle.textContent = open ? "▸" : "▾";
  }));
  const node = el("button", { type: "button", class: "node", dataset: { code } }, d.name);
  node.addEventListener("click", () => pick(code));
  return el("li", { dataset: { division: code, level: d.level || levelOf(code) } }, toggle, node, children);
}

function pick(code) {
  state.division = code;
  for (const n of document.querySelectorAll("#sv-tree .node")) n.classList.toggle("selected", n.dataset.code === code);
  document.getElementById("sv-selected").textContent = state.names.get(code) || code;
  document.getElementById("sv-selected-code").textContent = code;
  root.dataset.division = code;
  guarded(reload);
}

async function buildTree() {
  const tree = document.getElementById("sv-tree");
  if (!jurisdiction) {
    document.getElementById("sv-no-jurisdiction").hidden = false;
    return;
  }
  const top = await api("GET", `divisions/${jurisdiction}`);
  tree.replaceChildren(treeItem({ ...top, code: top.code || jurisdiction }));
  tree.querySelector(".toggle:not([disabled])")?.click();
  pick(jurisdiction);
}

// ---- the overview -------------------------------------------------------------------------
function stat(key, value, alert = false) {
  return el("div", { class: `stat${alert && value ? " alert" : ""}`, dataset: { stat: key } },
    el("p", { class: "big" }, String(value ?? 0)), el("p", { class: "muted" }, T(`supervision.stat.${key}`)));
}

async function overview() {
  const o = await api("GET", scoped("supervision/overview"));
  const f = o.filings || {};
  const cams = o.cameras || {};
  const units = keep(listOf(o.units ?? (await api("GET", scoped("supervision/units"))), "units"));
  const sites = units.flatMap((u) => (u.sites || []).map((s) => ({ ...s, unit: u })));
  document.getElementById("sv-stats").replaceChildren(
    stat("units", o.counts?.units ?? units.length),
    stat("sites", o.counts?.sites ?? sites.length),
    stat("filings_due", f.due ?? 0),
    stat("filings_overdue", f.overdue ?? 0, true),
    stat("filings_submitted", f.submitted ?? 0),
    stat("filings_returned", f.returned ?? 0),
    stat("cameras_offline", cams.offline_now ?? cams.offline ?? 0, true),
    stat("cameras_faulty", cams.faulty_now ?? cams.faulty ?? 0, true),
    stat("cameras_faulty_month", cams.faulty_month ?? cams.month ?? 0),
  );
  document.getElementById("sv-units").replaceChildren(table([
    ["supervision.unit", (s) => s.unit.name],
    ["supervision.site", (s) => s.name],
    ["supervision.division", (s) => el("span", { class: "mono" }, divisionOf(s))],
    ["supervision.state", (s) => [s.state ?? s.lifecycle ?? "", s.filing_state ? [" ", badge(T(`supervision.case_state.${s.filing_state}`))] : ""]],
    ["supervision.cameras_count", (s) => String(s.cameras ?? s.camera_count ?? "")],
  ], sites, { empty: "supervision.none", rowAttrs: (s) => ({ dataset: { site: s.id, unit: s.unit.id } }) }));
  const findings = listOf(o.findings ?? [], "findings");
  document.getElementById("sv-findings").replaceChildren(table([
    ["supervision.severity", (x) => badge(T(`supervision.severity.${x.severity}`), x.severity)],
    ["supervision.article", (x) => el("span", { class: "article" }, x.rule_id ?? x.article ?? "")],
    ["supervision.count", (x) => String(x.count ?? 1)],
  ], findings, { empty: "supervision.none" }));
  const offline = listOf(cams.list ?? cams.items ?? [], "cameras");
  document.getElementById("sv-cameras").replaceChildren(table([
    ["supervision.camera", (c) => c.name],
    ["supervision.site", (c) => c.site_name ?? ""],
    ["supervision.state", (c) => T(`supervision.camera_state.${c.state ?? "offline"}`)],
  ], keep(offline), { empty: "supervision.none" }));
  const req = o.requests || {};
  document.getElementById("sv-requests").replaceChildren(
    el("p", {}, T("supervision.requests_summary", { open: req.open ?? 0, total: req.total ?? 0, register: req.register ?? 0 })),
  );
}

// ---- the league table ---------------------------------------------------------------------
async function league() {
  const rows = keep(listOf(await api("GET", scoped("supervision/league?format=json")), "units"));
  document.getElementById("sv-league-csv").href = `/api/v1/${scoped("supervision/league?format=csv")}`;
  document.getElementById("sv-league-pdf").href = `/api/v1/${scoped("supervision/league?format=pdf")}`;
  document.getElementById("sv-league").replaceChildren(table([
    ["supervision.rank", (r) => String(r.rank ?? "")],
    ["supervision.unit", (r) => r.name ?? r.unit_name],
    ["supervision.open_findings", (r) => String(r.open_findings ?? 0)],
    ["supervision.overdue_items", (r) => String(r.overdue ?? r.overdue_items ?? 0)],
    ["supervision.score", (r) => String(r.score ?? "")],
  ], rows, { empty: "supervision.none", rowAttrs: (r) => ({ dataset: { unit: r.unit_id ?? r.id } }) }));
}

// ---- the map: a plain SVG scatter, no tiles ------------------------------------------------
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** Longitude/latitude to the box linearly, the box's sides in the ratio of the ground they
 * cover (a degree of longitude is cos(latitude) of a degree of latitude). */
export function projection(points, width = 800, pad = 30) {
  const lons = points.map((p) => p.longitude), lats = points.map((p) => p.latitude);
  let [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  if (x1 - x0 < 0.02) { x0 -= 0.01; x1 += 0.01; }
  if (y1 - y0 < 0.02) { y0 -= 0.01; y1 += 0.01; }
  const ground = ((x1 - x0) * Math.cos((((y0 + y1) / 2) * Math.PI) / 180)) / (y1 - y0);
  const inner = width - 2 * pad;
  const height = Math.max(200, Math.min(900, inner / ground)) + 2 * pad;
  const sx = inner / (x1 - x0), sy = (height - 2 * pad) / (y1 - y0);
  return { width, height, at: (p) => [pad + (p.longitude - x0) * sx, height - pad - (p.latitude - y0) * sy] };
}

async function map() {
  const m = await api("GET", scoped("supervision/map"));
  const counties = listOf(m.counties ?? [], "counties").filter((c) => c.longitude != null && inside(state.division, c.code));
  const sites = keep(listOf(m.sites ?? m, "sites")).filter((s) => s.longitude != null && s.latitude != null);
  const box = document.getElementById("sv-map");
  if (!counties.length && !sites.length) {
    box.replaceChildren(el("p", { class: "empty" }, T("supervision.none")));
    return;
  }
  const p = projection([...counties, ...sites]);
  const drawing = svg("svg", { viewBox: `0 0 ${p.width} ${Math.round(p.height)}`, role: "img", "aria-label": T("supervision.map") });
  for (const c of counties) {
    const [x, y] = p.at(c);
    drawing.append(svg("g", { class: "county-point", "data-code": c.code },
      svg("circle", { cx: x, cy: y, r: 2.5, class: "county" }, svg("title", {}, c.name)),
      svg("text", { x: x + 4, y: y - 4 }, c.name)));
  }
  for (const s of sites) {
    const [x, y] = p.at(s);
    const approximate = !!(s.approximate ?? s.centroid);
    const title = `${s.name}${s.unit_name ? ` · ${s.unit_name}` : ""}${approximate ? ` (${T("supervision.map_approximate")})` : ""}`;
    drawing.append(svg("g", { class: "site-point", "data-site": s.id ?? s.site_id, "data-approximate": String(approximate) },
      svg("circle", { cx: x, cy: y, r: 5, class: `site ${approximate ? "approximate" : "exact"}` }, svg("title", {}, title)),
      svg("text", { x: x + 7, y: y + 4, class: "site-label" }, s.name)));
  }
  box.replaceChildren(drawing);
}

// ---- tabs and reloads ---------------------------------------------------------------------
const LOADERS = { overview, league, map };

async function reload() {
  if (!state.division && jurisdiction) return;
  const loader = LOADERS[state.tab];
  if (loader) await loader();
  else await reloadWork(state.tab);
}

for (const b of document.querySelectorAll("[data-tab]")) {
  b.addEventListener("click", () => {
    for (const o of document.querySelectorAll("[data-tab]")) o.classList.toggle("active", o === b);
    for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== `tab-${b.dataset.tab}`;
    state.tab = b.dataset.tab;
    guarded(reload);
  });
}

initWork();
guarded(buildTree);
