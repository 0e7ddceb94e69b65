// The wall's layouts: the grid names (1/4/9/16 or a custom "RxC"), and the layout the wall opens
// and saves (GET/PUT /api/v1/wall/layout, PUT /api/v1/wall/rooms/{id}/layout): the user's own,
// else their monitoring room's. Without a saved layout (or on a server without the API) the wall
// opens four tiles with the first cameras in service.
import { api } from "./app.js";

export const MAX_SIDE = 6;

/** {rows, cols, count} of a grid name, or null when it is not one. */
export function gridOf(name) {
  const square = { 1: 1, 4: 2, 9: 3, 16: 4 }[name];
  if (square) return { rows: square, cols: square, count: square * square };
  const m = /^(\d)x(\d)$/.exec(String(name));
  if (!m) return null;
  const rows = Number(m[1]);
  const cols = Number(m[2]);
  if (rows < 1 || cols < 1 || rows > MAX_SIDE || cols > MAX_SIDE) return null;
  return { rows, cols, count: rows * cols };
}

/** A tile spec as the API has it: {camera_id} | {tour: {camera_ids, interval_s}} | {}. */
export function cleanSpec(spec) {
  if (spec?.tour?.camera_ids?.length) {
    return { tour: { camera_ids: spec.tour.camera_ids.map(Number), interval_s: Number(spec.tour.interval_s) || 20 } };
  }
  if (spec?.camera_id) return { camera_id: Number(spec.camera_id) };
  return {};
}

/** What the wall opens: {layout: {grid, tiles} | null, source, rooms}. A server without the
 * layouts API (404) or with nothing saved gives layout null. */
export async function openingLayout() {
  try {
    const found = await api("GET", "wall/layout");
    const layout = found?.layout ?? null;
    const ok = layout && gridOf(layout.grid);
    return {
      layout: ok ? { grid: String(layout.grid), tiles: (layout.tiles || []).map(cleanSpec) } : null,
      source: ok ? found.source ?? null : null,
      rooms: Array.isArray(found?.rooms) ? found.rooms : [],
    };
  } catch (err) {
    if (err.status === 404) return { layout: null, source: null, rooms: [] };
    throw err;
  }
}

/** Save the layout as the user's own (roomId null) or as a monitoring room's. */
export function saveLayout(roomId, grid, tiles) {
  const body = { grid, tiles: tiles.map(cleanSpec) };
  return api("PUT", roomId ? `wall/rooms/${roomId}/layout` : "wall/layout", body);
}

/** The id and display name of a room as the API lists it (an object or a bare id). */
export function roomOf(r) {
  if (typeof r === "number" || typeof r === "string") return { id: Number(r), name: String(r) };
  return { id: Number(r.id ?? r.room_id), name: r.name ?? String(r.id ?? r.room_id) };
}
