// The duty strip on the wall: who is on duty in the operator's monitoring room, and signing on
// from the wall; handover, the log and reports are a click away on the duty page.
import { api, clearError, el, fmtTime, me, showError, T } from "./app.js";

const strip = document.getElementById("duty-strip");
const box = strip.querySelector("[data-errors]");
const body = strip.querySelector("[data-body]");

async function show() {
  clearError(box);
  try {
    const rooms = await api("GET", "monitoring-rooms");
    if (!rooms.length) { body.replaceChildren(el("span", { class: "muted" }, T("onduty.no_room"))); return; }
    const states = await Promise.all(rooms.map((r) => api("GET", `monitoring-rooms/${r.id}/duty`)));
    body.replaceChildren(...rooms.map((room, i) => {
      const on = states[i].on_duty;
      const mine = on.find((s) => s.user_id === me.id);
      const names = on.map((s) => `${s.username} (${fmtTime(s.signed_on_at)})`).join("、");
      return el("div", { class: "duty-room", dataset: { room: room.id } },
        el("strong", {}, room.name), " ",
        el("span", { dataset: { onDuty: "" } }, on.length ? T("onduty.wall_on_duty", { names }) : T("onduty.nobody")), " ",
        mine ? null : el("button", { type: "button", class: "primary", dataset: { act: "sign-on" }, onclick: () => signOn(room.id) }, T("onduty.sign_on")), " ",
        el("a", { href: "/ui/duty" }, T("onduty.wall_more")));
    }));
  } catch (err) { showError(box, err); }
}

async function signOn(roomId) {
  try {
    await api("POST", `monitoring-rooms/${roomId}/sign-on`);
  } catch (err) { showError(box, err); return; }
  await show();
}

await show();
