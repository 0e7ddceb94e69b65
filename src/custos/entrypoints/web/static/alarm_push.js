// Server push of alarms (GET /ui/events, Server-Sent Events) for the dashboard and the duty wall:
// each new or changed alarm the user may see is listed in #alarm-feed at once and announced to
// the page as a "custos:alarm" event; on the wall a new critical alarm also sounds a short tone
// (Web Audio, no sound file). See docs/design/operations.md, "Server push".
import { el, fmtTime, label, T } from "./app.js";

const feed = document.getElementById("alarm-feed");
const list = feed?.querySelector("[data-body]");
const withTone = feed?.dataset.tone === "1";
let audio = null;

/** Browsers start audio only after a gesture on the page: the first click or key unlocks it. */
function unlock() {
  audio ??= new AudioContext();
  if (audio.state === "suspended") audio.resume();
}
if (withTone) for (const e of ["click", "keydown"]) document.addEventListener(e, unlock, { once: true });

function tone() {
  unlock();
  const at = audio.currentTime;
  for (const [i, hz] of [880, 660, 880].entries()) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.2, at + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.001, at + i * 0.18 + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(at + i * 0.18);
    osc.stop(at + i * 0.18 + 0.17);
  }
  feed.dataset.toned = String(Number(feed.dataset.toned || 0) + 1);
}

function show(a) {
  const row = el("li", { class: `pushed ${a.severity} state-${a.state}`, dataset: { alarmId: a.id, state: a.state } },
    el("span", { class: `badge ${a.severity}` }, label("enum.severity", a.severity)), " ",
    el("strong", {}, label("enum.alarm_kind", a.kind)), " ",
    el("span", { class: "mono" }, a.subject), " ", a.message, " ",
    el("span", { class: "muted" }, `${fmtTime(a.raised_at)} · ${T(`push.state.${a.state}`)}`));
  list.querySelector(`[data-alarm-id="${a.id}"]`)?.remove();
  list.querySelector("[data-empty]")?.remove();
  list.prepend(row);
  while (list.children.length > 20) list.lastElementChild.remove();
}

if (feed) {
  const seen = new Set();
  const source = new EventSource("/ui/events");
  source.addEventListener("open", () => { feed.dataset.live = "1"; });
  source.addEventListener("error", () => { feed.dataset.live = "0"; });
  source.addEventListener("end", () => source.close());
  source.addEventListener("alarm", (m) => {
    const a = JSON.parse(m.data);
    show(a);
    if (withTone && a.severity === "critical" && a.state === "open" && !seen.has(a.id)) tone();
    seen.add(a.id);
    document.dispatchEvent(new CustomEvent("custos:alarm", { detail: a }));
  });
}
