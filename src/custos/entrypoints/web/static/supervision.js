// The bureau's supervision console (docs/design/filing.md D5): the division tree from the
// supervisor's jurisdiction (picking a division filters every tab), the overview, the league
// table and the map of the sites. Filings, inspections and notices are in supervision_work.js,
// filings received from other systems in supervision_received.js.
import { api, el, fmtTime, label, table, T } from "./app.js";
import { badge, divisionOf, guarded, inside, jurisdiction, keep, listOf, scoped, state } from "./supervision_scope.js";
import { initWork, reloadWork } from "./supervision_work.js";
import { initReceived, received } from "./supervision_received.js";

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
  const leaf = d.has_children === false || (d.level || levelOf(code)) === "county";
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

/** Units with their sites inside the picked division (a unit with none there is left out). */
export function unitsInside(units) {
  return units.map((u) => ({ ...u, sites: keep(u.sites || []) })).filter((u) => u.sites.length);
}

function findingGroups(items) {
  const groups = new Map();
  for (const { finding } of items) {
    for (const rule of finding.rule_ids?.length ? finding.rule_ids : [""]) {
      const key = `${finding.severity}|${rule}`;
      const g = groups.get(key) ?? { severity: finding.severity, rule_id: rule, count: 0 };
      g.count += 1;
      groups.set(key, g);
    }
  }
  const order = ["critical", "violation", "warning", "info"];
  return [...groups.values()].sort((x, y) => order.indexOf(x.severity) - order.indexOf(y.severity) || x.rule_id.localeCompare(y.rule_id));
}

async function overview() {
  const asked = state.division;
  const o = await api("GET", scoped("supervision/overview"));
  if (asked !== state.division) return;  // another division was picked meanwhile
  const units = unitsInside(o.units || []);
  const sites = units.flatMap((u) => u.sites.map((s) => ({ ...s, unit: u })));
  const f = Object.fromEntries(Object.entries(o.filings || {}).map(([g, rows]) => [g, keep(rows)]));
  const items = keep(o.findings?.items || []);
  const now = keep(o.cameras?.now || []), month = keep(o.cameras?.month || []);
  const req = o.requests || {};
  document.getElementById("sv-stats").replaceChildren(
    stat("units", units.length),
    stat("sites", sites.length),
    stat("filings_due", f.due?.length ?? 0),
    stat("filings_overdue", f.overdue?.length ?? 0, true),
    stat("filings_submitted", f.submitted?.length ?? 0),
    stat("filings_returned", f.returned?.length ?? 0),
    stat("open_findings", items.length, true),
    stat("cameras_offline", now.length, true),
    stat("cameras_faulty_month", month.length),
  );
  document.getElementById("sv-units").replaceChildren(table([
    ["supervision.unit", (s) => s.unit.name],
    ["supervision.site", (s) => s.name],
    ["supervision.division", (s) => [s.division_name || "", " ", el("span", { class: "mono" }, divisionOf(s))]],
    ["supervision.filing_state", (s) => badge(T(`supervision.case_state.${s.filing?.state ?? "not_filed"}`), s.filing?.state)],
    ["supervision.cameras_count", (s) => `${s.cameras_in_service ?? 0} / ${s.cameras ?? 0}`],
  ], sites, { empty: "supervision.none", rowAttrs: (s) => ({ dataset: { site: s.id, unit: s.unit.id } }) }));
  const deadlines = [...(f.overdue || []).map((x) => ({ ...x, overdue: true })), ...(f.due || [])];
  document.getElementById("sv-deadlines").replaceChildren(table([
    ["supervision.unit", (x) => x.unit_name],
    ["supervision.site", (x) => x.site_name],
    ["supervision.kind", (x) => T(`supervision.kind.${x.kind}`)],
    ["supervision.due", (x) => el("span", { class: x.overdue ? "overdue" : "" }, x.due ?? T("supervision.promptly"), x.overdue ? ` ${T("supervision.overdue")}` : "")],
    ["supervision.article", (x) => el("span", { class: "article" }, (x.rule_ids || []).join(", "))],
  ], deadlines, { empty: "supervision.none", rowAttrs: (x) => ({ class: x.overdue ? "overdue" : "", dataset: { site: x.site_id, kind: x.kind, overdue: String(!!x.overdue) } }) }));
  document.getElementById("sv-findings").replaceChildren(table([
    ["supervision.severity", (x) => badge(T(`supervision.severity.${x.severity}`), x.severity)],
    ["supervision.article", (x) => el("span", { class: "article" }, x.rule_id)],
    ["supervision.count", (x) => String(x.count)],
  ], findingGroups(items), { empty: "supervision.none" }));
  const monthly = new Map(month.map((c) => [c.camera_id, c]));
  const cams = [...now, ...month.filter((c) => !now.some((n) => n.camera_id === c.camera_id))];
  document.getElementById("sv-cameras").replaceChildren(table([
    ["supervision.camera", (c) => c.camera_name],
    ["supervision.site", (c) => `${c.unit_name} · ${c.site_name}`],
    ["supervision.now", (c) => (now.includes(c) ? badge(T("supervision.camera_state.faulty"), "critical") : "")],
    ["supervision.month_faults", (c) => String(monthly.get(c.camera_id)?.faults ?? 0)],
  ], cams, { empty: "supervision.none", rowAttrs: (c) => ({ dataset: { camera: c.camera_id } }) }));
  const officers = (req.officers || []).filter((u) => inside(state.division, u.jurisdiction));
  const mine = new Set(officers.map((u) => u.id));
  const requests = (req.requests || []).filter((r) => mine.has(r.requested_by));
  const register = (req.register || []).filter((e) => mine.has(e.user_id));
  document.getElementById("sv-requests").replaceChildren(
    el("p", {}, T("supervision.requests_summary", { officers: officers.length, requests: requests.length, register: register.length })),
    table([
      ["supervision.when", (r) => fmtTime(r.created_at)],
      ["supervision.officer", (r) => r.requested_by_name],
      ["supervision.organ", (r) => r.organ],
      ["supervision.purpose", (r) => r.purpose],
      ["supervision.state", (r) => label("enum.request_state", r.state)],
    ], requests, { empty: "supervision.none" }),
    el("h3", {}, T("supervision.register")),
    table([
      ["supervision.when", (e) => fmtTime(e.at)],
      ["supervision.officer", (e) => e.user_name],
      ["supervision.action", (e) => label("enum.register_kind", e.kind)],
      ["supervision.organ", (e) => e.organ ?? ""],
      ["supervision.purpose", (e) => e.purpose ?? ""],
    ], register, { empty: "supervision.none" }),
  );
}

// ---- the league table ---------------------------------------------------------------------
async function league() {
  const asked = state.division;
  const body = await api("GET", scoped("supervision/league?format=json"));
  const here = new Set(unitsInside((await api("GET", scoped("supervision/units"))).units || []).map((u) => u.id));
  if (asked !== state.division) return;
  const rows = listOf(body, "units").filter((r) => here.has(r.unit_id));
  document.getElementById("sv-league-csv").href = `/api/v1/${scoped("supervision/league?format=csv")}`;
  document.getElementById("sv-league-pdf").href = `/api/v1/${scoped("supervision/league?format=pdf")}`;
  document.getElementById("sv-league").replaceChildren(table([
    ["supervision.rank", (r) => String(r.rank)],
    ["supervision.unit", (r) => r.unit_name],
    ["supervision.sites", (r) => String(r.sites ?? "")],
    ["supervision.open_findings", (r) => String(r.open_findings ?? 0)],
    ["supervision.overdue_filings", (r) => String(r.overdue_filings ?? 0)],
    ["supervision.overdue_notices", (r) => String(r.overdue_notices ?? 0)],
    ["supervision.score", (r) => String(r.score ?? "")],
  ], rows, { empty: "supervision.none", rowAttrs: (r) => ({ dataset: { unit: r.unit_id } }) }));
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
 * cover (a degree of longitude is cos(latitude) of a degree of latitude), widened to at least
 * 0.05° and to a landscape box so that two close points do not fill a tall page. */
export function projection(points, width = 800, pad = 40) {
  const lons = points.map((p) => p.longitude), lats = points.map((p) => p.latitude);
  let [x0, x1, y0, y1] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const widen = (lo, hi, span) => (hi - lo >= span ? [lo, hi] : [(lo + hi - span) / 2, (lo + hi + span) / 2]);
  [y0, y1] = widen(y0, y1, 0.05);
  const k = Math.cos((((y0 + y1) / 2) * Math.PI) / 180);
  const ratio = 1.4;  // width : height of the ground shown, at least
  [x0, x1] = widen(x0, x1, Math.max(0.05, ((y1 - y0) * ratio) / k));
  [y0, y1] = widen(y0, y1, ((x1 - x0) * k) / 2.5);  // and not flatter than 2.5 : 1
  const inner = width - 2 * pad;
  const height = (inner * (y1 - y0)) / ((x1 - x0) * k) + 2 * pad;
  const sx = inner / (x1 - x0), sy = (height - 2 * pad) / (y1 - y0);
  return { width, height, at: (p) => [pad + (p.longitude - x0) * sx, height - pad - (p.latitude - y0) * sy] };
}

async function map() {
  const asked = state.division;
  const m = await api("GET", scoped("supervision/map"));
  if (asked !== state.division) return;
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
      svg("text", { x: x - 5, y: y + 14, "text-anchor": "end" }, c.name)));
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
const LOADERS = { overview, league, map, received };

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
initReceived();
guarded(buildTree);
