// Alarm delivery: a unit's channels (Apprise URLs or a signed webhook; the URL and secret are
// write-only) and its escalation rota (level 0 is used when nobody is signed on duty).
import { api, clearError, el, flash, formData, label, me, showError, table, T } from "./app.js";

const box = document.getElementById("notify-error");
const flashBox = document.getElementById("flash");
const unitSelect = document.getElementById("notify-unit-select");
const body = (id) => document.querySelector(`#${id} [data-body]`);
let channels = [];
let people = [];
let levels = [];

const unitQuery = () => (unitSelect.value ? `?unit_id=${unitSelect.value}` : "");
const guard = (f) => async (...args) => { clearError(box); try { await f(...args); } catch (err) { showError(box, err); } };

function channelRows() {
  body("notify-channels").replaceChildren(table([
    ["notify.name", (c) => c.name],
    ["notify.kind", (c) => T(`notify.kind.${c.kind}`)],
    ["notify.target", (c) => el("span", { class: "mono" }, c.target)],
    ["notify.enabled", (c) => T(c.enabled ? "notify.yes" : "notify.no")],
    ["notify.actions", (c) => el("div", { class: "inline-form" },
      el("button", { type: "button", dataset: { act: "test" }, onclick: guard(async () => {
        const r = await api("POST", `notify/channels/${c.id}/test`);
        flash(flashBox, r.ok ? T("notify.test_ok", { name: c.name }) : T("notify.test_failed", { name: c.name, error: r.error }));
      }) }, T("notify.test")),
      el("button", { type: "button", dataset: { act: "remove" }, onclick: guard(async () => {
        await api("DELETE", `notify/channels/${c.id}`);
        await load();
      }) }, T("notify.remove")))],
  ], channels, { empty: "notify.no_channels", rowAttrs: (c) => ({ dataset: { channel: c.id } }) }));
}

function rotaRows() {
  const who = (id) => { const p = people.find((u) => u.id === id); return p ? `${p.full_name || p.username} (${label("enum.role", p.role)})` : "—"; };
  const via = (id) => channels.find((c) => c.id === id)?.name ?? "—";
  const rows = levels.flatMap((lv, i) => lv.map((e, j) => ({ ...e, level: i, j })));
  body("notify-rota").replaceChildren(table([
    ["notify.level", (e) => e.level],
    ["notify.person", (e) => who(e.user_id)],
    ["notify.channel", (e) => via(e.channel_id)],
    ["notify.actions", (e) => el("button", { type: "button", onclick: () => {
      levels[e.level].splice(e.j, 1);
      levels = levels.filter((lv) => lv.length);
      rotaRows();
    } }, T("notify.remove"))],
  ], rows, { empty: "notify.no_rota" }));
}

async function load() {
  const q = unitQuery();
  [channels, people, { levels }] = await Promise.all([
    api("GET", `notify/channels${q}`), api("GET", `notify/rota/people${q}`), api("GET", `notify/rota${q}`),
  ]);
  channelRows();
  rotaRows();
  const fill = (id, items, text) => document.getElementById(id).replaceChildren(
    el("option", { value: "" }, "—"), ...items.map((x) => el("option", { value: x.id }, text(x))));
  fill("rota-user", people, (p) => p.full_name || p.username);
  fill("rota-channel", channels.filter((c) => c.enabled), (c) => c.name);
}

document.getElementById("channel-form").addEventListener("submit", guard(async (ev) => {
  ev.preventDefault();
  const d = formData(ev.target);
  const payload = { unit_id: unitSelect.value ? Number(unitSelect.value) : null, name: d.name, kind: d.kind, url: d.url };
  if (d.secret) payload.secret = d.secret;
  await api("POST", "notify/channels", payload);
  ev.target.reset();
  flash(flashBox, T("notify.saved"));
  await load();
}));

document.getElementById("rota-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const d = formData(ev.target);
  const level = Math.min(Number(d.level), levels.length);
  const entry = { user_id: d.user_id ? Number(d.user_id) : null, channel_id: d.channel_id ? Number(d.channel_id) : null };
  while (levels.length <= level) levels.push([]);
  levels[level].push(entry);
  rotaRows();
});

document.getElementById("rota-save").addEventListener("click", guard(async () => {
  ({ levels } = await api("PUT", `notify/rota${unitQuery()}`, { levels }));
  flash(flashBox, T("notify.saved"));
  rotaRows();
}));

unitSelect.addEventListener("change", guard(load));

const units = await api("GET", "units").catch((err) => { showError(box, err); return []; });
const mine = me.unit_id ? units.filter((u) => u.id === me.unit_id) : units;
unitSelect.append(...mine.map((u) => el("option", { value: u.id }, `${u.id} · ${u.name}`)));
if (!me.unit_id) unitSelect.append(el("option", { value: "" }, T("notify.system")));
await guard(load)();
