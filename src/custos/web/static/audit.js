// The operation log (运行记录) with the result of the last verification.
import { api, el, fmtTime, showError, table, T } from "./app.js";

let entries = [];

function showVerification(v, at) {
  const body = document.querySelector("#verification [data-body]");
  body.replaceChildren(
    el("p", { class: v.ok ? "verify-ok" : "verify-bad", id: "verify-result" }, v.ok ? T("audit.sound") : T("audit.broken")),
    el("dl", { class: "kv" },
      el("dt", {}, T("audit.verified_at")), el("dd", {}, fmtTime(at)),
      el("dt", {}, T("audit.entry_count")), el("dd", {}, v.entries),
      el("dt", {}, T("audit.checkpoints")), el("dd", {}, v.checkpoints ?? ""),
      v.first_bad ? [el("dt", {}, T("audit.first_bad")), el("dd", {}, `#${v.first_bad.seq} ${v.first_bad.problem} ${v.first_bad.detail || ""}`)] : null,
    ));
}

function render() {
  const q = document.getElementById("audit-search").value.toLowerCase();
  const rows = entries.filter((r) => !q || JSON.stringify(r.entry).toLowerCase().includes(q)).slice(-200).reverse();
  document.getElementById("audit-list").replaceChildren(table([
    ["audit.seq", (r) => r.seq],
    ["audit.at", (r) => fmtTime(r.entry.at)],
    ["audit.actor", (r) => r.entry.actor],
    ["audit.action", (r) => el("code", {}, r.entry.action)],
    ["audit.outcome", (r) => r.entry.outcome],
    ["audit.target", (r) => [r.entry.object_type, r.entry.object_id].filter(Boolean).join(" ")],
    ["audit.detail", (r) => el("span", { class: "mono" }, JSON.stringify(r.entry.detail ?? {}).slice(0, 160))],
  ], rows));
}

async function load() {
  entries = [];
  let after = 0;
  for (let i = 0; i < 20; i++) {
    const page = await api("GET", `audit/entries?after_seq=${after}&limit=1000`);
    entries.push(...page.entries);
    if (page.next_after_seq === null) break;
    after = page.next_after_seq;
  }
  const last = [...entries].reverse().find((r) => r.entry.action === "audit.verify");
  if (last) {
    const d = last.entry.detail || {};
    showVerification({ ok: d.sound, entries: d.entries, checkpoints: d.checkpoints, first_bad: d.first_bad }, last.entry.at);
  }
  render();
}

document.getElementById("verify").addEventListener("click", async () => {
  try {
    const v = await api("POST", "audit/verify");
    showVerification(v, new Date().toISOString());
    await load();
  } catch (err) {
    showError(document.getElementById("audit-error"), err);
  }
});
document.getElementById("audit-search").addEventListener("input", render);
load().catch((err) => showError(document.getElementById("audit-error"), err));
