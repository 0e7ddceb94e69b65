// Filings received from other systems (docs/design/filing.md D3, "Filings received from another
// system"): import a signed custos-filing/1 file (a refused file names the member at fault),
// list the received filings inside the picked division, open one (its package as PDF and JSON,
// its history), accept it with a filing number or return it with reasons, then download the
// signed decision file (custos-filing-decision/1) for the unit's system.
import { api, clearError, el, flash, fmtTime, formData, shanghaiDate, showError, table, T } from "./app.js";
import { badge, guarded, keep } from "./supervision_scope.js";

const flashBox = document.getElementById("flash");
const byId = (id) => document.getElementById(id);
const current = { receipt: null };
const stateText = (s) => T(`received.state.${s}`);
const dayOf = (iso) => (iso ? shanghaiDate(new Date(iso)) : "");  // the bureau's calendar day
const organOf = (f) => f.recipient?.name_zh ?? f.recipient?.organ_name ?? "";
const siteOf = (f) => f.site?.site_name ?? f.site?.system_name ?? "";

/** The received filings inside the picked division, newest first as the API gives them. */
export async function received() {
  const rows = keep(await api("GET", "filings/received"));
  byId("rv-list").replaceChildren(table([
    ["received.receipt", (f) => el("span", { class: "mono" }, f.receipt_number)],
    ["received.unit", (f) => f.unit?.name ?? ""],
    ["received.site", siteOf],
    ["received.organ", organOf],
    ["received.kind", (f) => T(`received.kind.${f.kind}`)],
    ["received.received_on", (f) => dayOf(f.received_at)],
    ["received.state", (f) => badge(stateText(f.state), f.state)],
    ["common.actions", (f) => el("button", { type: "button", dataset: { act: "open" }, onclick: () => guarded(() => openReceived(f.id)) }, T("received.open"))],
  ], rows, { empty: "received.none", rowAttrs: (f) => ({ dataset: { receipt: f.id, state: f.state, number: f.receipt_number } }) }));
}

async function openReceived(id) {
  const f = await api("GET", `filings/received/${id}`);
  if (current.receipt?.id !== f.id) resetDecision();  // a number typed for one filing never carries to the next
  current.receipt = f;
  const section = byId("rv-detail");
  section.hidden = false;
  section.dataset.receipt = String(f.id);
  section.dataset.state = f.state;
  byId("rv-title").textContent = `${T("received.receipt")} ${f.receipt_number} · ${stateText(f.state)}`;
  const facts = [
    ["received.unit", `${f.unit?.name ?? ""} ${f.unit?.credit_code ?? ""}`.trim()],
    ["received.site", siteOf(f)],
    ["received.address", f.site?.address ?? ""],
    ["received.division", `${f.site?.division_name ?? ""} ${f.division_code}`.trim()],
    ["received.organ", organOf(f)],
    ["received.kind", T(`received.kind.${f.kind}`)],
    ["received.received_at", fmtTime(f.received_at)],
    ["received.due", f.due ?? "—"],
    ["received.sender_key", f.sender_key],
    ["received.package_sha256", f.package_sha256],
    ["received.filing_number", f.filing_number || "—"],
    ["received.reasons_given", (f.reasons || []).join("；") || "—"],
    ["received.decided_on", f.decided_on ?? "—"],
  ];
  byId("rv-facts").replaceChildren(...facts.flatMap(([key, v]) => [el("dt", {}, T(key)), el("dd", { dataset: { fact: key.slice("received.".length) } }, String(v))]));
  const base = `/api/v1/filings/received/${f.id}`;
  byId("rv-pdf").href = `${base}/package.pdf`;
  byId("rv-json").href = `${base}/package.json`;
  const decision = byId("rv-decision");
  decision.href = `${base}/decision.zip`;
  decision.hidden = f.state === "received";
  decision.style.display = decision.hidden ? "none" : "";  // .button would show it regardless
  byId("rv-history").replaceChildren(table([
    ["received.when", (e) => fmtTime(e.at)],
    ["received.action", (e) => T(`received.action.${e.action}`)],
    ["received.by", (e) => e.by_name ?? ""],
    ["received.detail", (e) => (e.detail?.reasons || []).join("；") || e.detail?.filing_number || ""],
  ], f.history || [], { empty: "received.none", rowAttrs: (e) => ({ dataset: { action: e.action } }) }));
  byId("rv-decide").hidden = f.state !== "received";
}

function resetDecision() {
  byId("rv-accept").reset();
  byId("rv-return").reset();
}

async function decide(body, note) {
  const f = await api("POST", `filings/received/${current.receipt.id}/decide`, body);
  resetDecision();
  flash(flashBox, T(note, { receipt: f.receipt_number, number: f.filing_number ?? "" }));
  await openReceived(f.id);
  await received();
}

async function importFile(form) {
  const box = byId("rv-import-error");
  clearError(box);
  const data = new FormData();
  const file = form.elements.file.files[0];
  if (!file) return;
  data.append("file", file, file.name);
  let f;
  try {
    f = await api("POST", "filings/import", data, { form: true });
  } catch (err) {
    showError(box, err);
    return;
  }
  form.reset();
  flash(flashBox, T("received.imported", { receipt: f.receipt_number }));
  await received();
  await openReceived(f.id);
}

export function initReceived() {
  byId("rv-import").addEventListener("submit", (ev) => {
    ev.preventDefault();
    guarded(() => importFile(ev.target));
  });
  byId("rv-accept").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = formData(ev.target).filing_number;
    guarded(() => decide({ decision: "accepted", filing_number: number || null }, "received.accepted"));
  });
  byId("rv-return").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const reasons = ev.target.elements.reasons.value.split("\n").map((r) => r.trim()).filter(Boolean);
    guarded(() => decide({ decision: "returned", reasons }, "received.returned"));
  });
}
