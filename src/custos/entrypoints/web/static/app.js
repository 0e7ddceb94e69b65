// Shared helpers for every page: the catalogue, API calls, small DOM builders, error display.
const catalogue = JSON.parse(document.getElementById("custos-i18n").textContent);
export const me = JSON.parse(document.getElementById("custos-me").textContent);
export const API = "/api/v1";
/** The page's language (zh-CN or en): the API renders refusal and finding texts in it. */
export const LANG = document.documentElement.lang || "zh-CN";
const ZH = LANG.startsWith("zh");

/** A message from the catalogue, with {name} placeholders filled. */
export function T(key, values) {
  let text = catalogue[key] ?? key;
  if (values) for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

export function can(permission) {
  return !!me && me.permissions.includes(permission);
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Call the REST API; the session cookie authenticates, X-Custos-UI marks the UI's own calls. */
export async function api(method, path, body, { form = false, raw = false } = {}) {
  const headers = { "X-Custos-UI": "1", "Accept-Language": LANG };
  let payload;
  if (form) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const r = await fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    method, headers, body: payload, credentials: "same-origin",
  });
  if (r.status === 401) {
    location.href = `/ui/login?expired=1&next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new ApiError(401, { message: T("login.expired") });
  }
  if (raw) {
    if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => ({})));
    return r;
  }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

/** el("div", {class: "x", onclick: f}, child, "text") */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const SHANGHAI_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" });

/** The Asia/Shanghai calendar date (YYYY-MM-DD) of an instant, now by default: the day the
 * server's rules count in, whatever the browser's time zone (never the UTC date). */
export function shanghaiDate(date = new Date()) {
  return SHANGHAI_DAY.format(date);
}

/** A value for <input type="datetime-local"> in local time. */
export function toLocalInput(date) {
  const p = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
}

export function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : null;
}

export function label(prefix, value) {
  return value === null || value === undefined ? "" : T(`${prefix}.${value}`);
}

/** The human form of an article ("Chongqing Measures art. 10(1)") is English: shown in the
 * English UI only; the article id is shown in both. */
export function articleText(text) {
  return !ZH && text ? el("span", { class: "article-text" }, ` ${text}`) : null;
}

/** Render an API error once: its kind, then each refusal in the page's language (the API's
 * ``text``) with the field's label and the article; the English summary only when there is no
 * list (it repeats the list) or in the English UI. */
export function showError(box, err) {
  box.replaceChildren();
  box.hidden = false;
  const body = err instanceof ApiError ? err.body : { message: String(err) };
  const kind = body.error ? T(`error.${body.error}`) : T("error.error");
  const items = body.errors || [];
  const summary = body.message && !items.length && (!ZH || !(err instanceof ApiError)) ? ` — ${body.message}` : "";
  box.append(el("p", { class: "error-title" }, kind, summary));
  if (items.length) {
    box.append(
      el("ul", { class: "refusals" }, items.map((e) =>
        el("li", { class: "refusal", dataset: { field: e.field || "", key: e.key || "" } },
          e.text ?? `${e.field}: ${e.reason}`,
          e.rule_id ? el("span", { class: "article" }, ` [${e.rule_id}]`) : null,
          articleText(e.article),
        ))),
    );
  }
  if (body.locked_until) box.append(el("p", {}, T("login.locked", { until: fmtTime(body.locked_until) })));
}

export function clearError(box) { box.hidden = true; box.replaceChildren(); }

export function flash(box, text) {
  box.hidden = false;
  box.replaceChildren(el("p", { class: "ok" }, text));
}

/** A table: columns are [headerKey, row => cell]. */
export function table(columns, rows, { empty = "common.none", rowAttrs } = {}) {
  if (!rows.length) return el("p", { class: "empty" }, T(empty));
  return el("table", { class: "grid" },
    el("thead", {}, el("tr", {}, columns.map(([h]) => el("th", {}, T(h))))),
    el("tbody", {}, rows.map((r) => el("tr", rowAttrs ? rowAttrs(r) : {}, columns.map(([, f]) => el("td", {}, f(r)))))),
  );
}

/** Form fields as an object: numbers for data-type=int, arrays for multi-selects, checkboxes as booleans. */
export function formData(form) {
  const out = {};
  for (const input of form.elements) {
    if (!input.name || input.disabled) continue;
    let v;
    if (input.type === "checkbox") v = input.checked;
    else if (input.tagName === "SELECT" && input.multiple) v = [...input.selectedOptions].map((o) => o.value);
    else if (input.type === "file") continue;
    else v = input.value.trim();
    if (input.dataset.type === "int") v = v === "" ? null : Number(v);
    if (input.dataset.type === "float") v = v === "" ? null : Number(v);
    if (input.dataset.type === "datetime") v = fromLocalInput(v);
    if (input.dataset.optional !== undefined && v === "") v = null;
    out[input.name] = v;
  }
  return out;
}

// ---- the header: language switch, session expiry, sign out --------------------------------
for (const b of document.querySelectorAll("[data-lang]")) {
  b.addEventListener("click", () => {
    document.cookie = `custos_lang=${b.dataset.lang}; path=/; max-age=31536000; SameSite=Strict`;
    location.reload();
  });
}
const expiry = document.getElementById("session-expiry");
if (expiry) {
  const until = new Date(expiry.dataset.expires);
  const tick = () => {
    const left = until - Date.now();
    if (left <= 0) {
      location.href = `/ui/login?expired=1&next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    const m = Math.floor(left / 60000);
    expiry.textContent = T("session.expires_in", { h: Math.floor(m / 60), m: m % 60 });
  };
  tick();
  setInterval(tick, 30000);
}
const logout = document.getElementById("logout");
if (logout) {
  logout.addEventListener("click", async () => {
    await fetch("/ui/logout", { method: "POST", headers: { "X-Custos-UI": "1" } });
    location.href = "/ui/login";
  });
}
