// Requests: file (with handlers, credentials and the approval document), approve / reject,
// execute a granted request.
import { api, can, clearError, el, flash, fmtTime, formData, label, me, showError, table, toLocalInput, T } from "./app.js";

const form = document.getElementById("request-form");
const handlers = document.getElementById("handlers");
const flashBox = document.getElementById("flash");
const forPublication = document.getElementById("for-publication");
const publicationTargets = document.getElementById("publication-targets");
let cameras = [];

function addHandler() {
  const row = document.getElementById("handler-template").content.firstElementChild.cloneNode(true);
  row.querySelector("[data-remove]").addEventListener("click", () => row.remove());
  const second = row.querySelectorAll("[name=h_type]")[1];
  if (second) second.selectedIndex = 1;  // a second paper differs from the first
  handlers.append(row);
}

async function fileRequest(ev) {
  ev.preventDefault();
  const box = form.querySelector("[data-errors]");
  clearError(box);
  const d = formData(form);
  const body = {
    action: d.action,
    scope: { camera_ids: d.camera_ids.map(Number), start: d.start, end: d.end },
    requester_kind: d.requester_kind, organ: d.organ, organ_unit: d.organ_unit,
    legal_basis: d.legal_basis, purpose: d.purpose, emergency: d.emergency || null, expires_at: d.expires_at,
    // each handler shows every credential the rules name (e.g. a work ID and a certifying
    // document, Beijing art. 17): the pairs with a number are sent
    handlers: [...handlers.children].map((r) => ({
      name: r.querySelector("[name=h_name]").value.trim(),
      credentials: [...r.querySelectorAll(".credential")]
        .map((c) => ({ type: c.querySelector("[name=h_type]").value, number: c.querySelector("[name=h_number]").value.trim() }))
        .filter((c) => c.number),
    })).filter((h) => h.name),
    // for publication (公开传播): the targets the copy will mask; the packs decide what is enough
    publication: forPublication.checked
      ? { mask: [...form.querySelectorAll("[data-mask]")].filter((c) => c.checked).map((c) => c.dataset.mask), mode: d.mask_mode }
      : null,
  };
  let req;
  try {
    req = await api("POST", "requests", body);
    const file = form.elements.doc_file.files[0];
    if (file) {
      const fd = new FormData();
      fd.append("number", d.doc_number); fd.append("issuer", d.doc_issuer); fd.append("issued_on", d.doc_date); fd.append("file", file);
      await api("POST", `requests/${req.id}/document`, fd, { form: true });
    }
    await api("POST", `requests/${req.id}/submit`);
    flash(flashBox, T("requests.filed", { id: req.id }));
    form.reset();
    defaults();
  } catch (err) {
    showError(box, err);
    if (req) box.prepend(el("p", {}, T("requests.draft_kept", { id: req.id })));
  }
  await load();
}

function scopeText(r) {
  return T("requests.cameras_range", { cams: r.scope.camera_ids.join(", "), from: fmtTime(r.scope.start), to: fmtTime(r.scope.end) });
}

async function act(r, verb, body, box) {
  try {
    const out = await api("POST", `requests/${r.id}/${verb}`, body);
    if (verb === "execute" && out.publication_case_id) {
      // the organ gets the masked copy once reviewed and released, not the original
      const ids = out.publication_case_ids?.length ? out.publication_case_ids : [out.publication_case_id];
      flash(flashBox, T("requests.executed_publication", { id: ids.join(", ") }));
    } else if (verb === "execute") {
      const msg = out.kind === "session" ? T("requests.executed_session", { id: out.session_id }) : T("requests.executed_export", { id: out.export_id, sha: out.sha256 });
      flash(flashBox, msg);
      const links = out.kind === "session"
        ? el("a", { href: `/ui/playback?session=${out.session_id}&cameras=${r.scope.camera_ids.join(",")}&start=${encodeURIComponent(r.scope.start)}&end=${encodeURIComponent(r.scope.end)}` }, T("requests.open_session"))
        : el("a", { href: `/api/v1/exports/${out.export_id}/file` }, T("requests.download"));
      flashBox.append(links);
    } else {
      flash(flashBox, T(verb === "approve" ? "requests.approved" : verb === "reject" ? "requests.rejected" : "common.saved", { id: r.id }));
    }
    await load();
  } catch (err) {
    showError(box || document.getElementById("list-error"), err);
  }
}

function decisionCell(r) {
  const note = el("input", { placeholder: T("requests.note"), class: "note" });
  const box = el("div", { class: "error-box", hidden: true });
  return el("div", {}, note,
    el("button", { type: "button", class: "primary", dataset: { approve: r.id }, onclick: () => act(r, "approve", { note: note.value }, box) }, T("requests.approve")), " ",
    el("button", { type: "button", dataset: { reject: r.id }, onclick: () => act(r, "reject", { note: note.value }, box) }, T("requests.reject")), box);
}

function ownActions(r) {
  if (!can("request.file")) return "";
  const mine = r.requested_by === me.id || r.handlers.some((h) => h.user_id === me.id);
  const out = [];
  if (mine && r.state === "draft") out.push(el("button", { type: "button", onclick: () => act(r, "submit") }, T("requests.submit_again")));
  if (mine && r.state === "approved") out.push(el("button", { type: "button", class: "primary", dataset: { execute: r.id }, onclick: () => act(r, "execute") }, T("requests.execute")));
  if (mine && ["draft", "submitted", "approved"].includes(r.state)) out.push(el("button", { type: "button", onclick: () => act(r, "cancel") }, T("requests.cancel")));
  return out;
}

/** Who must still approve a submitted request: the titles the packs name, or any approver where
 * they name none (an empty cell read as "nobody"). Nothing is needed in the other states. */
function stillNeeded(r) {
  if (r.state !== "submitted") return "—";
  const titles = r.titles_still_needed.map((t) => label("enum.approver_role", t));
  return el("span", { dataset: { needs: r.titles_still_needed.join(",") || "any" } },
    titles.length ? titles.join("、") : T("requests.any_approver"));
}

/** A request for publication: the ask, then each case's state (one per camera video) and, once
 * released, its masked copy's download (the organ's copy in place of the original). */
function publicationCell(r) {
  if (!r.publication) return "—";
  const cases = r.publication_cases?.length ? r.publication_cases : r.publication_case ? [r.publication_case] : [];
  if (!cases.length) return el("span", { dataset: { publication: "asked" } }, T("requests.publication_asked"));
  const cell = el("span", {});
  cases.forEach((c, n) => {
    const state = T("requests.publication_case", { id: c.id, state: label("enum.publication_state", c.state) });
    const out = el("span", { dataset: { publication: c.state } }, state);
    if (c.file) out.append(" ", el("a", { href: c.file, dataset: { publicationFile: c.id } }, T("requests.publication_download")));
    if (n) cell.append(el("br"));
    cell.append(out);
  });
  return cell;
}

const columns = (extra) => [
  ["requests.id", (r) => r.id],
  ["requests.action", (r) => label("enum.action", r.action)],
  ["requests.state", (r) => el("span", { class: `badge ${r.state}`, dataset: { state: r.state } }, label("enum.request_state", r.state))],
  ["requests.organ", (r) => `${r.organ} ${r.organ_unit}`],
  ["requests.scope", scopeText],
  ["requests.purpose", (r) => r.purpose],
  ["requests.titles", stillNeeded],
  ["requests.citations", (r) => el("span", { class: "article" }, r.citations.join(", "))],
  ["requests.publication", publicationCell],
  ["common.actions", extra],
];

async function load() {
  try {
    // a request for publication once executed: its case, from the request's own page
    const all = await Promise.all((await api("GET", "requests")).map((r) =>
      r.publication && r.state === "executed" ? api("GET", `requests/${r.id}`) : r));
    document.getElementById("request-list").replaceChildren(table(columns(ownActions), all, { rowAttrs: (r) => ({ dataset: { request: r.id } }) }));
    if (can("approve")) {
      const awaiting = await api("GET", "requests?awaiting_me=true");
      const sec = document.getElementById("awaiting");
      sec.hidden = false;
      sec.querySelector("[data-body]").replaceChildren(table(columns(decisionCell), awaiting, { rowAttrs: (r) => ({ dataset: { request: r.id } }) }));
    }
  } catch (err) {
    showError(document.getElementById("list-error"), err);
  }
}

function defaults() {
  const now = Date.now();
  form.elements.start.value = toLocalInput(new Date(now - 3600000));
  form.elements.end.value = toLocalInput(new Date(now));
  form.elements.expires_at.value = toLocalInput(new Date(now + 7 * 86400000));
  publicationTargets.hidden = !forPublication.checked;
  handlers.replaceChildren();
  addHandler(); addHandler();
}

for (const s of document.querySelectorAll("[data-needs]")) s.hidden = !can(s.dataset.needs);
if (can("request.file")) {
  cameras = await api("GET", "cameras");
  document.getElementById("req-cameras").replaceChildren(...cameras.map((c) => el("option", { value: c.id }, `${c.id} · ${c.name}`)));
  defaults();
  document.getElementById("add-handler").addEventListener("click", addHandler);
  forPublication.addEventListener("change", () => { publicationTargets.hidden = !forPublication.checked; });
  form.addEventListener("submit", fileRequest);
}
await load();
