// Review of a masked copy for publication: the cases in reach; per case one frame of the
// delivered footage with the boxes that will be masked on it drawn over it, tracks removed or
// restored, regions and static zones added, the targets no detector covers confirmed, then
// approve (never by the requester: the server refuses it), release and download.
// A rectangle dragged over the frame (mouse, pen or touch: pointer events) fills the region form
// (pixels of the frame, the frame range the one shown unless the form's range holds it) or the
// static-zone form (shares of the picture), per the draw toggle; the reviewer sees the numbers and
// adds it with the form's button, which stays the keyboard's way. An added region is taken back
// by its id with DELETE publications/{id}/regions/{region id} (ids are never reused in a case).
// Detection (after the request) and rendering (after release) run in the background: while a case
// is detecting or rendering the page shows its progress bar, polls the case every two seconds and
// moves on by itself; a failed job shows its reason and, to a reviewer, a retry button.
import { api, can, clearError, el, flash, fmtTime, formData, label, showError, table, T } from "./app.js";

const errorBox = document.getElementById("pub-error");
const flashBox = document.getElementById("flash");
const section = document.getElementById("pub-case");
const slider = document.getElementById("pub-frame");
const image = document.getElementById("pub-image");
const overlay = document.getElementById("pub-overlay");
const stage = document.getElementById("pub-stage");
const drawn = document.getElementById("pub-drawn");
const regionForm = document.getElementById("pub-region");
const zoneForm = document.getElementById("pub-zone");
let current = null;
let poll = null; // the timer polling a case whose job runs
let drag = null; // the pointer drawing: its id and both corners, in frame pixels (fractional)

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

async function removeRegion(id) {
  current = await api("DELETE", `publications/${current.id}/regions/${id}`);
  flash(flashBox, T("publication.region_removed", { n: id }));
  await show();
}

async function listCases() {
  const cases = await api("GET", "publications");
  document.getElementById("pub-cases").replaceChildren(table([
    ["publication.id", (k) => String(k.id)],
    ["publication.state", (k) => label("enum.publication_state", k.state)],
    // the original package, and which camera's video of it the case masks (one case per video)
    ["publication.source", (k) => el("span", { class: "mono", dataset: { video: k.video || "" } }, k.video ? `${k.source_name} · ${k.video}` : k.source_name)],
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
  showDrawn(null);
  await show();
}

const RUNNING = ["detecting", "rendering"];

/** The job's progress bar (detecting, rendering), or its reason and the retry (failed); while
 * it runs the case is polled every two seconds. */
function showJob(k) {
  clearTimeout(poll);
  poll = null;
  const box = document.getElementById("pub-job");
  const job = k.job;
  const running = RUNNING.includes(k.state), failed = k.state === "failed";
  box.hidden = !job || !(running || failed);
  if (box.hidden) return;
  document.getElementById("pub-job-stage").textContent = T(job.stage === "detect" ? "publication.job_detect" : "publication.releasing");
  const bar = document.getElementById("pub-job-bar");
  bar.value = job.percent;
  bar.hidden = failed;
  document.getElementById("pub-job-percent").textContent = failed ? "" : `${job.percent.toFixed(1)} %`;
  const eta = job.eta_s === null || !job.done ? "" : ` · ${job.eta_s < 90
    ? T("publication.job_eta_s", { n: Math.ceil(job.eta_s) }) : T("publication.job_eta_min", { n: Math.ceil(job.eta_s / 60) })}`;
  document.getElementById("pub-job-text").textContent = failed ? "" : job.total
    ? `${T("publication.job_frames", { done: job.done, total: job.total })}${eta}` : T("publication.job_waiting");
  const why = document.getElementById("pub-job-failed");
  why.hidden = !failed;
  why.replaceChildren(...(failed ? [T("publication.job_failed", { reason: T(job.reason) }),
    ...(job.detail ? [" ", el("span", { class: "mono" }, job.detail)] : [])] : []));
  document.getElementById("pub-retry").hidden = !failed || !can("publication.review");
  if (running) poll = setTimeout(() => guarded(refresh), 2000);
}

/** The polled case: moved on (proposed, released, failed) → the whole page; else the bar. */
async function refresh() {
  const id = current.id, before = current.state;
  const k = await api("GET", `publications/${id}`);
  if (!current || current.id !== id) return; // another case opened meanwhile
  current = k;
  if (k.state === before) { showJob(k); return; }
  if (k.state === "released") flash(flashBox, T("publication.released", { id: k.id, sha: k.package_sha256 }));
  if (k.state === "proposed") flash(flashBox, T("publication.detected", { id: k.id }));
  await show();
  await listCases();
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
  document.getElementById("pub-facts").replaceChildren(el("span", { class: "mono" }, k.video.name),
    ` · ${k.video.width}×${k.video.height} · ${T("publication.fps", { fps: k.video.fps })} · ${k.purpose} · ${k.requested_by}`);
  document.getElementById("pub-frame-label").textContent = T("publication.frame_of", { frame, frames: k.video.frames });
  const ready = k.video.frames > 0; // no frames before detection
  stage.style.display = ready ? "inline-block" : "none";
  if (ready) image.src = `/api/v1/publications/${k.id}/frame.jpg?frame=${frame}`;
  const boxes = ready ? await api("GET", `publications/${k.id}/boxes?frame=${frame}`) : [];
  const zones = k.zones.map((z) => [Math.round(z.left * k.video.width), Math.round(z.top * k.video.height),
    Math.round(z.right * k.video.width), Math.round(z.bottom * k.video.height)]);
  overlay.replaceChildren(...boxes.map((b) => drawBox(b.box, "box", b.source)), ...zones.map((z, i) => drawBox(z, "zone", k.zones[i].label)));
  const open = k.state === "proposed";
  document.getElementById("pub-boxes").replaceChildren(table([
    ["publication.box_source", (b) => el("span", { class: "mono" }, b.source)],
    ["publication.box", (b) => b.box.join(", ")],
    ["common.actions", (b) => open ? removeButton(b.source) : ""],
  ], boxes, { rowAttrs: (b) => ({ dataset: { source: b.source } }) }));
  document.getElementById("pub-regions").replaceChildren(table([
    ["publication.box_source", (r) => el("span", { class: "mono" }, `region:${r.id}`)],
    ["publication.first_frame", (r) => String(r.first_frame)],
    ["publication.last_frame", (r) => String(r.last_frame)],
    ["publication.box", (r) => r.box.join(", ")],
    ["publication.note", (r) => r.note],
    ["common.actions", (r) => open ? regionButton(r.id) : ""],
  ], k.regions, { empty: "common.none", rowAttrs: (r) => ({ dataset: { region: r.id } }) }));
  document.getElementById("pub-removed").replaceChildren(...(k.removed_tracks.length ? [
    el("p", {}, T("publication.removed"), ": ", ...k.removed_tracks.map((id) => el("button", {
      type: "button", dataset: { act: "restore", track: id }, disabled: !open,
      onclick: () => guarded(() => review({ restore_tracks: [id] })),
    }, T("publication.restore"), " ", el("span", { class: "mono" }, `track:${id}`)))),
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
  for (const input of document.querySelectorAll("#pub-draw input")) input.disabled = !editable();
  stage.style.cursor = editable() ? "crosshair" : "";
  if (!editable()) showDrawn(null);
  document.getElementById("pub-release").hidden = k.state !== "approved" || !can("publication.review");
  const download = document.getElementById("pub-download");
  download.hidden = k.state !== "released";
  download.href = `/api/v1/publications/${k.id}/file`;
  showJob(k);
}

function removeButton(source) {
  const [kind, n] = source.split(":");
  const id = Number(n);  // track:<id> or region:<id>
  if (kind === "track") {
    return el("button", { type: "button", dataset: { act: "remove-track" }, onclick: () => guarded(() => review({ remove_tracks: [id] })) }, T("publication.remove"));
  }
  return kind === "region" ? regionButton(id) : "";
}

function regionButton(id) {
  return el("button", { type: "button", dataset: { act: "remove-region", region: id }, onclick: () => guarded(() => removeRegion(id)) }, T("publication.remove_region"));
}

// ---- drawing a rectangle over the frame ----------------------------------------------------

function editable() {
  return !!current && current.state === "proposed" && can("publication.review");
}

/** A pointer event's place on the frame, in the frame's pixels: the image is scaled to fit
 * (max-width), so its rendered box, not its natural size, is what the pointer moves over. */
function framePoint(ev) {
  const r = image.getBoundingClientRect();
  const { width, height } = current.video;
  const clamp = (v) => Math.min(Math.max(v, 0), 1);
  return { x: clamp((ev.clientX - r.left) / r.width) * width, y: clamp((ev.clientY - r.top) / r.height) * height,
    cx: ev.clientX, cy: ev.clientY };
}

/** The pixel box [x0, y0, x1, y1] (right and bottom exclusive) covering both corners, or null
 * for a click or a drag too small to be meant (under 4 screen pixels either way). */
function boxOf(a, b) {
  if (Math.abs(a.cx - b.cx) < 4 || Math.abs(a.cy - b.cy) < 4) return null;
  const { width, height } = current.video;
  const x0 = Math.floor(Math.min(a.x, b.x)), y0 = Math.floor(Math.min(a.y, b.y));
  const x1 = Math.min(Math.ceil(Math.max(a.x, b.x)), width), y1 = Math.min(Math.ceil(Math.max(a.y, b.y)), height);
  return x1 > x0 && y1 > y0 ? [x0, y0, x1, y1] : null;
}

/** The rectangle being drawn, or the one the form holds, dashed over the frame (null hides). */
function showDrawn(box) {
  drawn.hidden = !box || !current;
  if (drawn.hidden) return;
  const v = current.video;
  const [x0, y0, x1, y1] = box;
  Object.assign(drawn.style, { left: pct(x0, v.width), top: pct(y0, v.height), width: pct(x1 - x0, v.width), height: pct(y1 - y0, v.height) });
}

const drawMode = () => document.querySelector("#pub-draw input[name=draw]:checked")?.value || "region";
const setField = (form, name, value) => { form.elements[name].value = String(value); };
const down4 = (v) => Math.max(0, Math.floor(v * 10000) / 10000);
const up4 = (v) => Math.min(1, Math.ceil(v * 10000) / 10000);

/** The drawn box into the form the toggle names; the reviewer checks it and presses Add. */
function fillForm(box) {
  const [x0, y0, x1, y1] = box;
  if (drawMode() === "zone") {
    const { width, height } = current.video;
    setField(zoneForm, "left", down4(x0 / width));
    setField(zoneForm, "top", down4(y0 / height));
    setField(zoneForm, "right", up4(x1 / width));
    setField(zoneForm, "bottom", up4(y1 / height));
    zoneForm.elements.label.focus();
    return;
  }
  const frame = Number(slider.value);
  const first = regionForm.elements.first_frame.value, last = regionForm.elements.last_frame.value;
  if (first === "" || last === "" || !(Number(first) <= frame && frame <= Number(last))) {
    setField(regionForm, "first_frame", frame);
    setField(regionForm, "last_frame", frame);
  }
  for (const [name, value] of Object.entries({ x0, y0, x1, y1 })) setField(regionForm, name, value);
  regionForm.elements.note.focus();
}

/** The rectangle a form's fields describe, in frame pixels, or null while incomplete. */
function formBox(form) {
  const f = formData(form);
  const { width, height } = current.video;
  const zone = form === zoneForm;
  const values = zone ? [f.left, f.top, f.right, f.bottom] : [f.x0, f.y0, f.x1, f.y1];
  if (!values.every((n) => typeof n === "number" && Number.isFinite(n))) return null;
  const box = zone ? values.map((n, i) => n * (i % 2 ? height : width)) : values;
  return box[0] < box[2] && box[1] < box[3] ? box : null;
}

stage.addEventListener("pointerdown", (ev) => {
  if (!editable() || ev.button !== 0 || !image.naturalWidth) return;
  ev.preventDefault();
  stage.setPointerCapture?.(ev.pointerId); // the drag goes on outside the picture, clamped
  const at = framePoint(ev);
  drag = { id: ev.pointerId, from: at, to: at };
});

stage.addEventListener("pointermove", (ev) => {
  if (!drag || ev.pointerId !== drag.id) return;
  drag.to = framePoint(ev);
  showDrawn(boxOf(drag.from, drag.to));
});

stage.addEventListener("pointerup", (ev) => {
  if (!drag || ev.pointerId !== drag.id) return;
  const box = boxOf(drag.from, framePoint(ev));
  drag = null;
  showDrawn(box);
  if (box) fillForm(box);
});

stage.addEventListener("pointercancel", () => { drag = null; showDrawn(null); });

for (const form of [regionForm, zoneForm]) {
  form.addEventListener("input", () => { if (current) showDrawn(formBox(form)); });
}

slider.addEventListener("change", () => guarded(show));

regionForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = formData(ev.target);
  guarded(async () => {
    await review({ add_regions: [{ first_frame: f.first_frame, last_frame: f.last_frame, box: [f.x0, f.y0, f.x1, f.y1], note: f.note }] });
    showDrawn(null);
  });
});

zoneForm.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const f = formData(ev.target);
  guarded(async () => {
    await review({ zones: [...current.zones, { left: f.left, top: f.top, right: f.right, bottom: f.bottom, label: f.label }] });
    showDrawn(null);
  });
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
  current = await api("POST", `publications/${current.id}/release`); // 202: rendering
  flash(flashBox, T("publication.queued", { id: current.id }));
  await show();
  await listCases();
}));

document.getElementById("pub-retry").addEventListener("click", () => guarded(async () => {
  current = await api("POST", `publications/${current.id}/retry`); // 202: queued again
  flash(flashBox, T("publication.retried", { id: current.id }));
  await show();
  await listCases();
}));

guarded(async () => {
  await listCases();
  const wanted = new URLSearchParams(location.search).get("case");
  if (wanted) await open(Number(wanted));
});
