// GB/T 28181 cascade: the upper platforms Custos registers with (their link state, refreshed),
// and the cameras each is given. A refused share shows the article it breaks.
import { api, can, clearError, el, flash, fmtTime, formData, showError, table, T } from "./app.js";

const platformForm = document.getElementById("platform-form");
const shareForm = document.getElementById("share-form");
const flashBox = document.getElementById("flash");
const listBox = document.getElementById("list-error");
const shareBox = document.getElementById("share-error");
let current = null;

if (!can("registry.write")) { platformForm.hidden = true; shareForm.hidden = true; }

function link(p) {
  const l = p.link;
  if (!l) return "—";
  return [
    el("span", { class: `state state-${l.state}`, dataset: { state: l.state } }, T(`cascade.state.${l.state}`)),
    el("div", { class: "muted" }, T("cascade.since", { at: fmtTime(l.since) })),
    l.last_error ? el("div", { class: "error" }, l.last_error) : null,
  ];
}

async function load() {
  clearError(listBox);
  try {
    const rows = await api("GET", "gb/upper-platforms");
    document.getElementById("platform-list").replaceChildren(table([
      ["cascade.name", (p) => p.name || "—"],
      ["cascade.sip_id", (p) => el("span", { class: "mono" }, p.sip_id)],
      ["cascade.address", (p) => el("span", { class: "mono" }, `${p.transport} ${p.host}:${p.port}`)],
      ["cascade.network", (p) => T(`enum.network.${p.network}`)],
      ["cascade.link", link],
      ["cascade.actions", (p) => el("button", { type: "button", dataset: { act: "shares" }, onclick: () => openShares(p) }, T("cascade.shares"))],
    ], rows, { empty: "cascade.none", rowAttrs: (p) => ({ dataset: { platform: p.id } }) }));
  } catch (err) { showError(listBox, err); }
}

async function openShares(p) {
  current = p;
  document.getElementById("share-card").hidden = false;
  document.getElementById("share-title").textContent = T("cascade.shares_of", { id: p.sip_id });
  await loadShares();
}

async function loadShares() {
  clearError(shareBox);
  try {
    const rows = await api("GET", `gb/upper-platforms/${current.id}/shares`);
    const drop = (s) => async () => {
      try {
        await api("DELETE", `gb/upper-platforms/${current.id}/shares/${s.camera_id}`);
        await loadShares();
      } catch (err) { showError(shareBox, err); }
    };
    document.getElementById("share-list").replaceChildren(table([
      ["cascade.camera_id", (s) => String(s.camera_id)],
      ["cascade.shared_by", (s) => `${s.shared_by} ${fmtTime(s.shared_at)}`],
      ["cascade.actions", (s) => can("registry.write") ? el("button", { type: "button", onclick: drop(s) }, T("cascade.unshare")) : "—"],
    ], rows, { empty: "cascade.no_shares", rowAttrs: (s) => ({ dataset: { camera: s.camera_id } }) }));
  } catch (err) { showError(shareBox, err); }
}

platformForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const box = document.getElementById("platform-error");
  clearError(box);
  try {
    const got = await api("POST", "gb/upper-platforms", formData(platformForm));
    platformForm.reset();
    flash(flashBox, T("cascade.saved", { id: got.sip_id }));
    await load();
  } catch (err) { showError(box, err); }
});

shareForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  clearError(shareBox);
  try {
    await api("POST", `gb/upper-platforms/${current.id}/shares`, formData(shareForm));
    shareForm.reset();
    await loadShares();
  } catch (err) { showError(shareBox, err); }
});

await load();
setInterval(() => { load(); }, 10000);
