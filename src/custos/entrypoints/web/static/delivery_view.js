// An alarm's deliveries on the alarms page: where it was sent, each one's status, tries and last
// error (GET /alarms/{id}/deliveries), shown on demand.
import { api, el, fmtTime, T } from "./app.js";

export function deliveries(a) {
  const cell = el("div", { class: "deliveries" });
  const show = async () => {
    const got = await api("GET", `alarms/${a.id}/deliveries`);
    const rows = got.deliveries.map((d) => el("li", { dataset: { status: d.status } },
      el("span", { class: `badge delivery-${d.status}` }, T(`delivery.status.${d.status}`)), " ",
      `${d.channel_name || d.channel_id} · ${T("delivery.level", { level: d.level })} · ${T("delivery.tries", { n: d.attempts })}`,
      d.sent_at ? ` · ${fmtTime(d.sent_at)}` : "",
      d.last_error ? el("div", { class: "muted" }, d.last_error) : null));
    cell.replaceChildren(
      got.escalation_level ? el("div", {}, T("delivery.escalated", { level: got.escalation_level })) : "",
      rows.length ? el("ul", { class: "plain" }, ...rows) : el("span", { class: "muted" }, T("delivery.none")));
  };
  cell.append(el("button", { type: "button", dataset: { act: "deliveries" }, onclick: () => show().catch((e) => cell.replaceChildren(e.message)) }, T("delivery.show")));
  return cell;
}
