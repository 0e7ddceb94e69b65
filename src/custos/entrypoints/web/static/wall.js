// Duty wall (值班监看): opens the user's (or their room's) layout and starts every tile at once;
// each tile is a registered live view (wall_tile.js, wall_player.js). Layouts 1/4/9/16 or custom
// rows x cols; a layout change keeps the players of the tiles that stay. Tours, full screen (main
// stream), snapshots, and an alarm outlining the tile of its camera. Design: docs/design/live.md.
import { api, clearError, el, showError, T } from "./app.js";
import { cleanSpec, gridOf, openingLayout, roomOf, saveLayout } from "./wall_layout.js";
import { Tile } from "./wall_tile.js";

const wallNode = document.getElementById("wall");
const errorBox = document.getElementById("wall-error");
const saved = document.getElementById("wall-saved");
const tiles = [];
let grid = "4";
let kept = [];  // specs of tiles beyond the current layout, restored when it grows again

const wall = {
  cameras: [],
  /** A single tile, or one in full screen, asks for the main stream; a grid for sub streams. */
  streamFor(tile) {
    return gridOf(grid).count === 1 || document.fullscreenElement === tile.node ? "main" : "sub";
  },
  snapshotForm,
  tourForm,
};

/** Show ``name``'s grid: tiles that stay keep their node and player; new tiles start at once. */
function applyGrid(name, specs = null) {
  const g = gridOf(name);
  if (!g) return false;
  grid = name;
  if (specs) {
    kept = specs.map(cleanSpec);
    while (tiles.length) tiles.pop().destroy();
  }
  wallNode.dataset.layout = name;
  wallNode.style.gridTemplateColumns = `repeat(${g.cols}, minmax(0, 1fr))`;
  wallNode.style.gridTemplateRows = `repeat(${g.rows}, minmax(0, 1fr))`;
  while (tiles.length > g.count) {
    const t = tiles.pop();
    kept[tiles.length] = t.spec;
    t.destroy();
  }
  while (tiles.length < g.count) {
    const t = new Tile(wall);
    t.node.dataset.tile = String(tiles.length);
    wallNode.append(t.node);
    t.setSpec(kept[tiles.length] || {});
    tiles.push(t);
  }
  for (const t of tiles) t.restream();
  for (const b of document.querySelectorAll("button[data-layout]")) b.classList.toggle("active", b.dataset.layout === name);
  document.getElementById("wall-custom").classList.toggle("active", !["1", "4", "9", "16"].includes(name));
  return true;
}

for (const b of document.querySelectorAll("button[data-layout]")) {
  b.addEventListener("click", () => applyGrid(b.dataset.layout));
}
document.getElementById("wall-custom").addEventListener("click", () => {
  const rows = document.getElementById("wall-rows").value;
  const cols = document.getElementById("wall-cols").value;
  if (!applyGrid(`${rows}x${cols}`)) showError(errorBox, new Error(T("wall.custom_invalid")));
  else clearError(errorBox);
});

async function save(roomId) {
  clearError(errorBox);
  saved.hidden = true;
  try {
    await saveLayout(roomId, grid, tiles.map((t) => t.spec));
    saved.textContent = roomId ? T("wall.saved_room") : T("wall.saved");
    saved.hidden = false;
  } catch (err) { showError(errorBox, err); }
}
document.getElementById("wall-save").addEventListener("click", () => save(null));
document.getElementById("wall-save-room").addEventListener("click", () => {
  const room = Number(document.getElementById("wall-room").value);
  if (room) save(room);
});

// ---- forms: a tour for a tile, a snapshot -------------------------------------------------
const tourDialog = document.getElementById("tour-dialog");
const tourFormNode = document.getElementById("tour-form");
let tourTile = null;

function tourForm(tile) {
  tourTile = tile;
  const pick = tourFormNode.elements.camera_ids;
  const chosen = new Set(tile.spec.tour?.camera_ids ?? (tile.cameraId ? [tile.cameraId] : []));
  pick.replaceChildren(...wall.cameras.map((c) => {
    const o = new Option(`${c.id} · ${c.name}`, c.id);
    o.selected = chosen.has(c.id);
    return o;
  }));
  if (tile.spec.tour) tourFormNode.elements.interval_s.value = tile.spec.tour.interval_s;
  tourDialog.showModal();
}
tourFormNode.addEventListener("submit", () => {
  const ids = [...tourFormNode.elements.camera_ids.selectedOptions].map((o) => Number(o.value));
  const interval = Math.min(600, Math.max(5, Number(tourFormNode.elements.interval_s.value) || 20));
  if (!tourTile) return;
  tourTile.stopped = false;
  tourTile.setSpec(ids.length > 1 ? { tour: { camera_ids: ids, interval_s: interval } } : ids.length ? { camera_id: ids[0] } : {});
});
tourFormNode.querySelector("[data-end-tour]").addEventListener("click", () => {
  if (tourTile) tourTile.setSpec(tourTile.cameraId ? { camera_id: tourTile.cameraId } : {});
  tourDialog.close();
});
tourFormNode.querySelector("[data-cancel]").addEventListener("click", () => tourDialog.close());

const snapDialog = document.getElementById("snapshot-dialog");
const snapForm = document.getElementById("snapshot-form");
let snapCamera = null;

function snapshotForm(tile) {
  snapCamera = tile.cameraId;
  const cam = wall.cameras.find((c) => c.id === snapCamera);
  snapForm.querySelector("[data-camera]").textContent = cam ? `${cam.id} · ${cam.name}` : String(snapCamera);
  clearError(snapForm.querySelector("[data-errors]"));
  snapForm.querySelector("[data-result]").hidden = true;
  snapDialog.showModal();
}

/** POST cameras/{id}/snapshot: a registered export of one frame. The answer is the JPEG itself
 * (its register entry in X-Register-Entry-Id), offered as a download link; JSON naming where to
 * download it is understood too. */
snapForm.addEventListener("submit", async (e) => {
  e.preventDefault();
  const box = snapForm.querySelector("[data-errors]");
  const result = snapForm.querySelector("[data-result]");
  clearError(box);
  try {
    const r = await api("POST", `cameras/${snapCamera}/snapshot`, { purpose: snapForm.elements.purpose.value.trim() }, { raw: true });
    let href;
    let exportId = r.headers.get("X-Register-Entry-Id");
    if ((r.headers.get("Content-Type") || "").startsWith("image/")) href = URL.createObjectURL(await r.blob());
    else {
      const d = await r.json();
      href = d.download_url ?? d.url ?? d.href;
      exportId ??= d.export_id ?? d.id;
    }
    result.replaceChildren(T("wall.snapshot.done", { id: exportId ?? "" }), " ",
      href ? el("a", { href, download: fileName(r) ?? `snapshot-${snapCamera}.jpg`, dataset: { snapshot: exportId ?? "" } }, T("wall.snapshot.download")) : null);
    result.hidden = false;
    snapForm.elements.purpose.value = "";
  } catch (err) { showError(box, err); }
});
function fileName(r) {
  return /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "")?.[1] ?? null;
}
snapForm.querySelector("[data-cancel]").addEventListener("click", () => snapDialog.close());

// ---- alarms, full screen, health, leaving -------------------------------------------------
/** The camera of an alarm: its camera_id, else a subject "camera:<id>[:…]". */
function alarmCamera(a) {
  if (a.camera_id) return Number(a.camera_id);
  const m = /^camera:(\d+)/.exec(a.subject || "");
  return m ? Number(m[1]) : null;
}
document.addEventListener("custos:alarm", (e) => {
  const id = alarmCamera(e.detail);
  for (const t of tiles) if (id && t.cameraId === id) t.alarm(e.detail);
});
document.addEventListener("fullscreenchange", () => { for (const t of tiles) t.restream(); });
window.addEventListener("pagehide", () => { for (const t of tiles) t.halt(); });
setInterval(() => { for (const t of tiles) t.refreshHealth(); }, 5000);
window.custosWall = { tiles: () => tiles, grid: () => grid };

try {
  wall.cameras = (await api("GET", "cameras")).filter((c) => c.state === "in_service");
  let opening = { layout: null, source: null, rooms: [] };
  try { opening = await openingLayout(); } catch (err) { showError(errorBox, err); }
  const rooms = opening.rooms.map(roomOf);
  document.getElementById("wall-room").replaceChildren(...rooms.map((r) => new Option(r.name, r.id)));
  document.getElementById("wall-room-save").hidden = !rooms.length;
  const source = document.getElementById("wall-source");
  source.dataset.source = opening.source ?? "";
  source.textContent = opening.source ? T(`wall.source_of_layout.${opening.source}`) : "";
  if (opening.layout) applyGrid(opening.layout.grid, opening.layout.tiles);
  else applyGrid("4", wall.cameras.map((c) => ({ camera_id: c.id })));
  wallNode.dataset.ready = "1";
} catch (err) {
  showError(errorBox, err);
}
