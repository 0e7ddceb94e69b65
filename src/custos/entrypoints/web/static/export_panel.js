// Export from the playback page: a range picked on the timeline (two handles bound to the start
// and end inputs), its estimated size, a purpose, an indeterminate progress bar with the elapsed
// time while the package builds (POST /exports is synchronous), then the package and its
// chain-of-custody sheet to download. The package is a plain link: the browser streams it to
// disk and shows its percentage from the Content-Length the server sends, never holding it whole.
import { api, can, clearError, el, fmtTime, showError, T } from "./app.js";

const panel = document.getElementById("export-panel");
const track = document.getElementById("export-track");
const band = document.getElementById("export-sel");
const startInput = document.getElementById("export-start");
const endInput = document.getElementById("export-end");
const estimateOut = document.getElementById("export-estimate");
const purpose = document.getElementById("export-purpose");
const go = document.getElementById("export-go");
const errorBox = document.getElementById("export-error");
const progress = document.getElementById("export-progress");
const elapsed = document.getElementById("export-elapsed");
const done = document.getElementById("export-done");

let view = null;       // {start, end} ms: the timelines' window
let cameraIds = [];
let sel = null;        // {start, end} ms: the range to export
let estimateTimer = 0;
let estimateToken = 0;
let building = false;

const SECOND = 1000;
const p2 = (n) => String(n).padStart(2, "0");
/** <input type="datetime-local" step="1"> value, local time to the second. */
const toInput = (t) => {
  const d = new Date(t);
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
};
const fromInput = (v) => (v ? new Date(v).getTime() : NaN);
const pct = (t) => (100 * (t - view.start)) / (view.end - view.start);

/** Bytes as people read them (binary units, one decimal). */
export function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Called by the playback page each time it draws the timelines for cameras × window. */
export function showExport(window_, ids) {
  if (!panel || !can("export")) return;
  view = window_;
  cameraIds = ids;
  if (!sel || sel.start < view.start || sel.end > view.end || sel.end <= sel.start) {
    sel = { start: view.start, end: view.end };
  }
  panel.hidden = false;
  draw();
  estimateSoon(0);
}

function draw() {
  const a = pct(sel.start);
  const b = pct(sel.end);
  band.style.left = `${a}%`;
  band.style.width = `${b - a}%`;
  startInput.value = toInput(sel.start);
  endInput.value = toInput(sel.end);
  startInput.min = endInput.min = toInput(view.start);
  startInput.max = endInput.max = toInput(view.end);
  for (const bar of document.querySelectorAll("#timeline-rows .timeline")) {
    const shade = bar.querySelector(".export-range") || bar.appendChild(el("div", { class: "export-range" }));
    shade.style.left = `${a}%`;
    shade.style.width = `${b - a}%`;
  }
  document.getElementById("export-summary").textContent = T("export.summary", {
    from: fmtTime(new Date(sel.start).toISOString()), to: fmtTime(new Date(sel.end).toISOString()),
    minutes: ((sel.end - sel.start) / 60000).toFixed(1),
  });
}

function setRange(start, end) {
  const s = Math.max(view.start, Math.min(start, view.end - SECOND));
  const e = Math.min(view.end, Math.max(end, s + SECOND));
  sel = { start: Math.round(s / SECOND) * SECOND, end: Math.round(e / SECOND) * SECOND };
  if (sel.end <= sel.start) sel.end = sel.start + SECOND;
  draw();
}

// ---- the handles ----------------------------------------------------------------------------
for (const handle of track.querySelectorAll("[data-handle]")) {
  handle.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    const which = handle.dataset.handle;
    const move = (ev) => {
      const r = track.getBoundingClientRect();
      const t = view.start + ((ev.clientX - r.left) / r.width) * (view.end - view.start);
      if (which === "start") setRange(Math.min(t, sel.end - SECOND), sel.end);
      else setRange(sel.start, Math.max(t, sel.start + SECOND));
      estimateSoon(400);  // the estimate follows a slow drag, not every pixel of it
    };
    // a drag ends on pointerup, on pointercancel, or when the capture is lost, whichever comes
    const end = (ev) => {
      if (ev.type === "pointerup") move(ev);
      handle.removeEventListener("pointermove", move);
      for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
        handle.removeEventListener(type, end);
      }
      estimateSoon(0);
    };
    handle.addEventListener("pointermove", move);
    for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
      handle.addEventListener(type, end);
    }
  });
  handle.addEventListener("keydown", (e) => {  // arrow keys move a handle by a second (shift: a minute)
    const step = (e.shiftKey ? 60 : 1) * SECOND * ({ ArrowLeft: -1, ArrowRight: 1 }[e.key] || 0);
    if (!step) return;
    e.preventDefault();
    if (handle.dataset.handle === "start") setRange(sel.start + step, sel.end);
    else setRange(sel.start, sel.end + step);
    estimateSoon(300);
  });
}

for (const input of [startInput, endInput]) {
  input.addEventListener("change", () => {
    const s = fromInput(startInput.value);
    const e = fromInput(endInput.value);
    if (Number.isFinite(s) && Number.isFinite(e) && e > s) setRange(s, e);
    else draw();  // an impossible range is put back as it was
    estimateSoon(0);
  });
}

// ---- the estimate ---------------------------------------------------------------------------
function estimateSoon(delay) {
  clearTimeout(estimateTimer);
  estimateTimer = setTimeout(estimate, delay);
}

async function estimate() {
  const token = ++estimateToken;
  estimateOut.textContent = T("export.estimating");
  const q = new URLSearchParams();
  for (const id of cameraIds) q.append("camera_ids", id);
  q.set("start", new Date(sel.start).toISOString());
  q.set("end", new Date(sel.end).toISOString());
  try {
    const est = await api("GET", `exports/estimate?${q}`);
    if (token !== estimateToken) return;
    estimateOut.dataset.bytes = String(est.bytes);
    estimateOut.textContent = est.segment_count
      ? T("export.estimate", { size: fmtBytes(est.bytes), segments: est.segment_count })
      : T("export.nothing");
    go.disabled = building || !est.segment_count;
  } catch (err) {
    if (token === estimateToken) { estimateOut.textContent = ""; showError(errorBox, err); }
  }
}

// ---- building and downloading ------------------------------------------------------------------
go.addEventListener("click", async () => {
  clearError(errorBox);
  if (!purpose.value.trim()) {
    purpose.focus();
    return showError(errorBox, new Error(T("export.purpose_needed")));
  }
  building = true;
  go.disabled = true;
  done.hidden = true;
  progress.hidden = false;
  const began = performance.now();
  const tick = () => { elapsed.textContent = T("export.building", { s: Math.floor((performance.now() - began) / 1000) }); };
  tick();
  const timer = setInterval(tick, 500);
  try {
    const pkg = await api("POST", "exports", {
      camera_ids: cameraIds, start: new Date(sel.start).toISOString(), end: new Date(sel.end).toISOString(),
      purpose: purpose.value,
    });
    showDone(pkg);
  } catch (err) {
    showError(errorBox, err);
  } finally {
    clearInterval(timer);
    progress.hidden = true;
    building = false;
    go.disabled = false;
  }
});

function showDone(pkg) {
  done.dataset.exportId = String(pkg.id);
  done.replaceChildren(
    el("p", {}, T("export.done", { id: pkg.id, size: fmtBytes(pkg.bytes), segments: pkg.segment_count })),
    el("p", { class: "mono small" }, `SHA-256 ${pkg.sha256}`),
    el("div", { class: "actions" },
      el("a", { class: "button primary", id: "export-download", href: `/api/v1/exports/${pkg.id}/file`, download: "" }, T("export.download")),
      el("a", { class: "button", id: "export-custody", href: `/api/v1/exports/${pkg.id}/custody.pdf`, target: "_blank", rel: "noopener" }, T("export.custody")),
    ),
    el("p", { class: "muted" }, T("export.download_note")),
  );
  done.hidden = false;
}
