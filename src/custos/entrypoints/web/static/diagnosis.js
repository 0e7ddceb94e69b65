// Video quality diagnosis of one camera: the reference beside the latest sample, the faults and
// their K-in-a-row counters, the measures; propose the latest sample as a reference, and approve
// another person's proposal (four eyes: the server refuses one's own).
import { api, can, clearError, el, flash, fmtTime, label, me, showError, table, T } from "./app.js";

const picker = document.getElementById("diag-camera");
const box = document.getElementById("diag-error");
const flashBox = document.getElementById("flash");
const proposeForm = document.getElementById("diag-propose");

async function showImage(img, path) {
  try {
    const r = await api("GET", path, undefined, { raw: true });
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(await r.blob());
    img.hidden = false;
  } catch {
    img.hidden = true;
  }
}

function counters(status) {
  const rows = Object.entries(status.counters).filter(([, c]) => c.bad || c.raised);
  return table([
    ["diagnosis.fault", ([f]) => label("enum.diagnosis_fault", f)],
    ["diagnosis.counter", ([, c]) => `${c.bad} / ${c.good}`],
    ["diagnosis.state", ([, c]) => (c.raised ? el("span", { class: "badge critical" }, T("diagnosis.raised")) : "—")],
  ], rows, { empty: "common.none", rowAttrs: ([f]) => ({ dataset: { fault: f } }) });
}

function approve(ref) {
  if (ref.state !== "proposed" || !can("diagnosis.manage")) return "";
  if (ref.proposed_by === me.username) return el("span", { class: "muted" }, T("diagnosis.own_proposal"));
  return el("button", { type: "button", class: "primary", dataset: { act: "approve" }, onclick: async () => {
    clearError(box);
    try {
      await api("POST", `diagnosis/references/${ref.id}/approve`);
      flash(flashBox, T("diagnosis.approved", { id: ref.id }));
      await load();
    } catch (err) { showError(box, err); }
  } }, T("diagnosis.approve"));
}

async function load() {
  clearError(box);
  const id = picker.value;
  if (!id) return;
  try {
    const status = await api("GET", `cameras/${id}/diagnosis`);
    document.getElementById("diag-sampled").textContent = status.sampled_at ? fmtTime(status.sampled_at) : T("diagnosis.no_sample");
    document.getElementById("diag-faults").replaceChildren(
      status.faults.length ? el("p", {}, status.faults.map((f) => el("span", { class: "badge warning", dataset: { fault: f } }, label("enum.diagnosis_fault", f)))) : el("p", { class: "empty" }, T("diagnosis.none")),
      counters(status),
    );
    const metrics = Object.entries(status.metrics || {}).filter(([, v]) => v !== null);
    document.getElementById("diag-metrics").replaceChildren(table([
      ["diagnosis.metric", ([k]) => el("span", { class: "mono" }, k)],
      ["diagnosis.value", ([, v]) => (typeof v === "number" ? v.toFixed(3) : String(v))],
    ], metrics, { empty: "diagnosis.no_sample" }));
    const refs = status.references.slice().reverse();
    document.getElementById("diag-references").replaceChildren(table([
      ["diagnosis.reference", (r) => el("span", { class: "mono" }, `${r.id} · ${r.sha256.slice(0, 12)}`)],
      ["diagnosis.state", (r) => label("enum.reference_state", r.state)],
      ["diagnosis.reason", (r) => r.reason],
      ["diagnosis.who", (r) => `${r.proposed_by} · ${fmtTime(r.proposed_at)}${r.approved_by ? ` / ${r.approved_by} · ${fmtTime(r.approved_at)}` : ""}`],
      ["common.actions", approve],
    ], refs, { empty: "diagnosis.no_sample", rowAttrs: (r) => ({ dataset: { reference: r.id, state: r.state } }) }));
    proposeForm.hidden = !can("diagnosis.manage") || !status.sampled_at;
    const approved = status.references.filter((r) => r.state === "approved").pop();
    const refImg = document.getElementById("diag-reference");
    if (approved) await showImage(refImg, `diagnosis/references/${approved.id}/image`);
    else refImg.hidden = true;
    if (status.sampled_at) await showImage(document.getElementById("diag-latest"), `cameras/${id}/diagnosis/latest.png`);
  } catch (err) {
    showError(box, err);
  }
}

proposeForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError(box);
  try {
    const ref = await api("POST", `cameras/${picker.value}/diagnosis/references`, { reason: proposeForm.reason.value.trim() });
    flash(flashBox, T("diagnosis.proposed", { id: ref.id }));
    proposeForm.reset();
    await load();
  } catch (err) { showError(box, err); }
});

picker.addEventListener("change", load);
try {
  const cams = await api("GET", "cameras");
  picker.append(...cams.map((c) => el("option", { value: c.id }, `${c.id} · ${c.name}`)));
  const wanted = new URLSearchParams(location.search).get("camera");
  if (wanted) picker.value = wanted;
  await load();
} catch (err) { showError(box, err); }
