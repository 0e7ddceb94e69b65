// The cluster page (issue 16, docs/design/cluster.md): the recorder nodes and the cameras each
// holds by lease, the cameras no live node records, the offload lag, refused segments and which
// server runs each timed duty — all from GET /api/v1/cluster, as `custos cluster status` shows.
import { api, clearError, el, fmtTime, showError, T, table } from "./app.js";

const box = document.getElementById("cluster-error");
const $ = (id) => document.getElementById(id);

/** The catalogue's text for a key, or null where it has none. */
const known = (key) => { const t = T(key); return t === key ? null : t; };

function age(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return T("cluster.age.s", { n: s });
  if (s < 7200) return T("cluster.age.m", { n: Math.floor(s / 60) });
  return T("cluster.age.h", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

const ago = (seconds) => seconds === null || seconds === undefined ? "—" : T("cluster.ago", { age: age(seconds) });
const mono = (v) => el("span", { class: "mono" }, v);
const ids = (list) => list.length ? el("div", { class: "mono" }, list.join(", ")) : "—";
const flag = (on) => el("span", { class: `badge ${on ? "ok" : "critical"}`, dataset: { live: String(on) } }, T(on ? "common.yes" : "common.no"));

function summary(st) {
  const out = [];
  if (st.single_machine) {
    out.push(el("p", { id: "cluster-mode", dataset: { mode: st.single_machine } },
      T(`cluster.single.${st.single_machine}`, { n: st.cameras_in_service })));
  } else {
    const live = st.nodes.filter((n) => n.live).length;
    out.push(el("p", { id: "cluster-mode", dataset: { mode: "cluster" } },
      T("cluster.summary", { nodes: st.nodes.length, live, cameras: st.cameras_in_service, at: fmtTime(st.at) })));
  }
  const unrecorded = st.problems.filter((p) => p.kind === "unrecorded").length;
  const items = [];
  if (unrecorded) items.push(el("li", { dataset: { problem: "unrecorded" } }, T("cluster.problem.unrecorded", { n: unrecorded })));
  for (const p of st.problems.filter((q) => q.kind === "dead_holder")) {
    const node = st.nodes.find((n) => n.name === p.subject);
    items.push(el("li", { dataset: { problem: "dead_holder", node: p.subject } },
      T("cluster.problem.dead_holder", { node: p.subject, n: node ? node.cameras.length : 0 })));
  }
  if (items.length) out.push(el("div", { class: "error-box", id: "cluster-problems", role: "alert" }, el("ul", {}, items)));
  else if (!st.single_machine) out.push(el("p", { class: "ok", id: "cluster-healthy" }, T("cluster.healthy")));
  $("cluster-summary").replaceChildren(...out);
}

function nodes(st) {
  $("cluster-nodes-card").hidden = !!st.single_machine;
  const lags = new Map((st.offload || []).map((l) => [l.node, l]));
  const lag = (n, f) => { const l = lags.get(n.name); return l ? f(l) : "—"; };
  $("cluster-nodes").replaceChildren(table([
    ["cluster.col.name", (n) => mono(n.name)],
    ["cluster.col.address", (n) => mono(n.address)],
    ["cluster.col.state", (n) => known(`enum.node_state.${n.state}`) || mono(n.state)],
    ["cluster.col.live", (n) => flag(n.live)],
    ["cluster.col.heartbeat", (n) => ago(n.heartbeat_age_s)],
    ["cluster.col.capacity", (n) => n.capacity],
    ["cluster.col.cameras", (n) => el("div", { dataset: { cameras: n.cameras.join(",") } }, el("strong", {}, n.cameras.length), ids(n.cameras))],
    ["cluster.col.handing_over", (n) => ids(n.handing_over)],
    ["cluster.col.expired", (n) => ids(n.expired)],
    ["cluster.col.offload_pending", (n) => lag(n, (l) => l.pending)],
    ["cluster.col.offload_oldest", (n) => lag(n, (l) => age(l.oldest_age_s))],
    ["cluster.col.version", (n) => mono(n.version)],
  ], st.nodes, { rowAttrs: (n) => ({ dataset: { node: n.name } }) }));
}

function unrecorded(st) {
  $("cluster-unrecorded-card").hidden = !!st.single_machine;
  $("cluster-unrecorded").replaceChildren(
    table([
      ["cluster.col.camera", (c) => c.id],
      ["cluster.col.address_code", (c) => mono(c.address_code)],
    ], st.unrecorded, { empty: "cluster.unrecorded_none", rowAttrs: (c) => ({ dataset: { camera: c.id } }) }),
    st.unleased ? el("p", { class: "muted" }, T("cluster.never_leased", { n: st.unleased })) : "");
}

function offload(st) {
  if (st.offload === null) {
    $("cluster-offload").replaceChildren(el("p", { class: "muted" }, T("cluster.offload_off")));
    return;
  }
  $("cluster-offload").replaceChildren(table([
    ["cluster.col.recorder", (l) => l.node === null ? T("cluster.offload_local") : mono(l.node)],
    ["cluster.col.offload_pending", (l) => l.pending],
    ["cluster.col.offload_oldest", (l) => age(l.oldest_age_s)],
  ], st.offload, { rowAttrs: (l) => ({ dataset: { recorder: l.node ?? "" } }) }));
}

function refused(st) {
  $("cluster-refused").replaceChildren(
    el("p", { id: "cluster-refused-count" }, T("cluster.refused_count", { n: st.refused_count })),
    st.refused.length ? table([
      ["cluster.col.camera", (r) => r.camera_id],
      ["cluster.col.node", (r) => mono(r.node)],
      ["cluster.col.token", (r) => r.fencing_token],
      ["cluster.col.current_token", (r) => r.current_token],
      ["cluster.col.start", (r) => fmtTime(r.start_at)],
      ["cluster.col.refused_at", (r) => fmtTime(r.refused_at)],
      ["cluster.col.kept_at", (r) => mono(r.kept_at)],
    ], st.refused) : "");
}

function duties(st) {
  if (st.duties_local) {
    $("cluster-duties").replaceChildren(el("p", { class: "muted" }, T("cluster.duties_local")));
    return;
  }
  $("cluster-duties").replaceChildren(table([
    ["cluster.col.duty", (d) => known(`enum.duty.${d.duty}`) || mono(d.duty)],
    ["cluster.col.holder", (d) => d.holder ? mono(d.holder) : T("cluster.released")],
    ["cluster.col.live", (d) => flag(d.live)],
    ["cluster.col.token", (d) => d.token],
    ["cluster.col.expires", (d) => d.expires_in_s >= 0 ? T("cluster.in", { age: age(d.expires_in_s) }) : T("cluster.ago", { age: age(-d.expires_in_s) })],
  ], st.duties, { rowAttrs: (d) => ({ dataset: { duty: d.duty } }) }));
}

async function load() {
  clearError(box);
  try {
    const st = await api("GET", "cluster");
    summary(st);
    nodes(st);
    unrecorded(st);
    offload(st);
    refused(st);
    duties(st);
  } catch (err) {
    showError(box, err);
  }
}

$("cluster-refresh").addEventListener("click", load);
await load();
