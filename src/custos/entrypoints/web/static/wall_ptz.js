// PTZ on the duty wall: a control bar on each tile whose camera came in through ONVIF with
// pan/tilt/zoom; other tiles keep a disabled control titled "PTZ not available". Holding an
// arrow moves the camera (ContinuousMove), letting go stops it; a preset token goes to that
// preset. Every command is in the operation log (server side).
import { api, showError } from "./app.js";

const wall = document.getElementById("wall");
const template = document.getElementById("ptz-template");
const errorBox = document.getElementById("wall-error");
let movable = new Set();

let queue = Promise.resolve();

/** Commands go one after another: a stop must never overtake the move it ends. */
function send(cameraId, body) {
  queue = queue.then(() => api("POST", `cameras/${cameraId}/ptz`, body)).catch((err) => showError(errorBox, err));
  return queue;
}

/** The camera a tile shows now (a tour changes it without the select's change event). */
function cameraOf(tile) {
  const v = tile.dataset.camera;
  return v ? Number(v) : null;
}

function equip(tile) {
  let bar = tile.querySelector("[data-ptz]");
  if (!bar) {
    bar = template.content.firstElementChild.cloneNode(true);
    bar.addEventListener("click", (e) => e.stopPropagation());  // a click on the bar is not "watch"
    bar.addEventListener("dblclick", (e) => e.stopPropagation());  // nor "full screen"
    for (const b of bar.querySelectorAll("[data-move]")) {
      const [pan, tilt, zoom] = b.dataset.move.split(",").map(Number);
      b.addEventListener("pointerdown", () => send(cameraOf(tile), { action: "move", pan, tilt, zoom, timeout_s: 10 }));
      b.addEventListener("pointerup", () => send(cameraOf(tile), { action: "stop" }));
    }
    bar.querySelector("[data-ptz-stop]").addEventListener("click", () => send(cameraOf(tile), { action: "stop" }));
    bar.querySelector("[data-goto]").addEventListener("click", () => {
      const preset = bar.querySelector("[data-preset]").value.trim();
      if (preset) send(cameraOf(tile), { action: "preset", preset });
    });
    tile.addEventListener("custos:tile-camera", () => equip(tile));
    tile.append(bar);
  }
  bar.hidden = !movable.has(cameraOf(tile));
  const none = tile.querySelector("[data-ptz-none]");
  if (none) none.hidden = !bar.hidden;
}

function equipAll() { for (const tile of wall.querySelectorAll(".tile")) equip(tile); }

try {
  movable = new Set(await api("GET", "onvif/ptz-cameras"));
} catch (err) { showError(errorBox, err); }
new MutationObserver(equipAll).observe(wall, { childList: true });
equipAll();
