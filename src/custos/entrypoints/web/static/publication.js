// Review of a masked copy for publication: the cases in reach; per case one frame of the
// delivered footage with the boxes that will be masked on it drawn over it, tracks removed or
// restored, regions and static zones added, the targets no detector covers confirmed, then
// approve (never by the requester: the server refuses it), release and download.
import { api, can, clearError, el, flash, fmtTime, formData, label, showError, table, T } from "./app.js";

const errorBox = document.getElementById("pub-error");
const flashBox = document.getElementById("flash");
const section = document.getElementById("pub-case");
const slider = document.getElementById("pub-frame");
const image = document.getElementById("pub-image");
const overlay = document.getElementById("pub-overlay");
let current = null;

const pct = (v, of) => `${(100 * v) / of}%`;

async function guarded(work) {
  clearError(errorBox);
  try { await work(); } catch (err) { showError(errorBox, err); }
}

async function review(body, note = T("publication.saved")) {
  current = await api("POST", `publications/${current.id}/review`, body);
  flash(flashBox, note);
  await show();
}

async function listCases() {
  const cases = await api("GET", "publications");
  document.getElementById("pub-cases").replaceChildren(table([
    ["publication.id", (k) => String(k.id)],
    ["publication.state", (k) => label("enum.publication_state", k.state)],
    ["publication.source", (k) => el("span", { class: "mono" }, k.source_name)],
    ["publication.purpose", (k) => k.purpose],
    ["publication.requested", (k) => `${k.requested_by} · ${fmtTime(k.requested_at)}`],
    ["publication.reviewer", (k) => k.reviewer || "—"],
    ["common.actions", (k) => el("button", { type: "button", dataset: { act: "open" }, onclick: () => guarded(() => open(k.id)) }, T("publication.open"))],
  ], cases, { empty: "publication.none", rowAttrs: (k) => ({ dataset: { case: k.id, state: k.state } }) }));
}

async function open(id) {
  current = await api("GET", `publications/${id}`);
  slider.max = String(Math.max(current.video.frames - 1, 0));
  slider.value = "0";
  section.hidden = false;
  section.dataset.case = String(id);
  await show();
}

function drawBox(box, kind, title) {
  const v = current.video;
  const [x0, y0, x1, y1] = box;
  return el("div", {
    class: `mask-box ${kind}`, title,
    style: `position:absolute;left:${pct(x0, v.width)};top:${pct(y0, v.height)};width:${pct(x1 - x0, v.width)};height:${pct(y1 - y0, v.height)};border:2px solid ${kind === "zone" ? "#c60" : "#e00"};box-sizing:border-box`,
  });
}

async function show() {
  const k = current;
  const frame = Number(slider.value);
  section.dataset.state = k.state;
  document.getElementById("pub-title").textContent = `${T("publication.id")} ${k.id} · ${label("enum.publication_state", k.state)}`;
  document.getElementById("pub-facts").textContent = `${k.video.name} · ${k.video.width}×${k.video.height} · ${k.video.fps} fps · ${k.purpose} · ${k.requested_by}`;
  document.getElementById("pub-frame-label").textContent = T("publication.frame_of", { frame, frames: k.video.frames });
  image.src = `/api/v1/publications/${k.id}/frame.jpg?frame=${frame}`;
  const boxes = await api("GET", `publications/${k.id}/boxes?frame=${frame}`);
  const zones = k.zones.map((z) => [Math.round(z.left * k.video.width), Math.round(z.top * k.video.height),
    Math.round(z.right * k.video.width), Math.round(z.bottom * k.video.height)]);
  overlay.replaceChildren(...boxes.map((b) => drawBox(b.box, "box", b.source)), ...zones.map((z, i) => drawBox(z, "zone", k.zones[i].label)));
  const open = k.state === "proposed";
  document.getElementById("pub-boxes").replaceChildren(table([
    ["publication.box_source", (b) => el("span", { class: "mono" }, b.source)],
    ["publication.box", (b) => b.box.join(", ")],
    ["common.actions", (b) => open ? removeButton(b.source) : ""],
  ], boxes, { rowAttrs: (b) => ({ dataset: { source: b.source } }) }));
  document.getElementById("pub-removed").replaceChildren(...(k.removed_tracks.length ? [
    el("p", {}, T("publication.removed"), ": ", ...k.removed_tracks.map((id) => el("button", {
      type: "button", dataset: { act: "restore", track: id }, disabled: !open,
      onclick: () => guarded(() => review({ restore_tracks: [id] })),
    }, `${T("publication.restore")} track:${id}`))),
  ] : []));
  document.getElementById("pub-zones").replaceChildren(table([
    ["publication.zone_label", (z) => z.label],
    ["publication.box", (z) => [z.left, z.top, z.right, z.bottom].join(", ")],
    ["common.actions", (z) => open ? el("button", { type: "button", dataset: { act: "remove-zone" }, onclick: () => guarded(() =>
      review({ zones: k.zones.filter((other) => other !== z) })) }, T("publication.remove_zone")) : ""],
  ], k.zones, { empty: "common.none" }));
  document.getElementById("pub-required").replaceChildren(...Object.entries(k.required).map(([target, rules]) =>
    el("label", { class: "check" }, el("input", { type: "checkbox", name: target, checked: k.confirmed.includes(target), disabled: !open }),
      ` ${label("enum.mask_target", target)} `, el("span", { class: "article" }, `[${rules.join(", ")}]`))));
  for (const form of ["pub-region", "pub-zone", "pub-approve"]) {
    for (const input of document.getElementById(form).elements) input.disabled = !open || !can("publication.review");
  }
  document.getElementById("pub-release").hidden = k.state !== "approved" || !can("publication.review");
  const download = document.getElementById("pub-download");
  download.hidden = k.state !== "released";
  download.href = `/api/v1/publications/${k.id}/file`;
}

function removeButton(source) {
  const [kind, n] = source.split(":");
  const index = Number(n);
  if (kind === "track") {
    return el("button", { type: "button", dataset: { act: "remove-track" }, onclick: () => guarded(() => review({ remove_tracks: [index] })) }, T("publication.remove"));
  }
  return "";
}

slider.addEventListener("change", () => guarded(show));

document.getElementById("pub-region").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = formData(ev.target);
  guarded(() => review({ add_regions: [{ first_frame: f.first_frame, last_frame: f.last_frame, box: [f.x0, f.y0, f.x1, f.y1], note: f.note }] }));
});

document.getElementById("pub-zone").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = formData(ev.target);
  guarded(() => review({ zones: [...current.zones, { left: f.left, top: f.top, right: f.right, bottom: f.bottom, label: f.label }] }));
});

document.getElementById("pub-approve").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const confirmed = [...ev.target.querySelectorAll("input[type=checkbox]:checked")].map((i) => i.name);
  guarded(async () => {
    current = await api("POST", `publications/${current.id}/approve`, { confirmed });
    flash(flashBox, T("publication.approved", { id: current.id }));
    await show();
    await listCases();
  });
});

document.getElementById("pub-release").addEventListener("click", () => guarded(async () => {
  const progress = document.getElementById("pub-progress");
  progress.hidden = false;
  try {
    current = await api("POST", `publications/${current.id}/release`);
  } finally { progress.hidden = true; }
  flash(flashBox, T("publication.released", { id: current.id, sha: current.package_sha256 }));
  await show();
  await listCases();
}));

guarded(async () => {
  await listCases();
  const wanted = new URLSearchParams(location.search).get("case");
  if (wanted) await open(Number(wanted));
});
