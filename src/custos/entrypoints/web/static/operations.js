// The unit's operating records: the staff archive (ID-card numbers only masked), trainings,
// repair work orders (open, repair, verify by another person), plans and drills, and what the
// compliance report finds in them. Refusals are shown inline with their fields and articles.
import { api, articleText, can, clearError, el, flash, fmtTime, formData, label, me, shanghaiDate, showError, table, T } from "./app.js";

const unitSel = document.getElementById("ops-unit");
const siteSel = document.getElementById("ops-site");
const flashBox = document.getElementById("flash");
const pageError = document.getElementById("page-error");
const MINE = ["staff.", "maintenance.", "emergency."];
let staff = [];

const unit = () => Number(unitSel.value);
const site = () => Number(siteSel.value);
const staffName = (id) => staff.find((s) => s.id === id)?.name ?? `#${id}`;

async function loadUnits() {
  const units = me.unit_id ? [{ id: me.unit_id, name: "" }] : await api("GET", "units");
  unitSel.replaceChildren(...units.map((u) => el("option", { value: u.id }, u.name || `#${u.id}`)));
  if (me.unit_id) {
    try {
      const u = await api("GET", `units/${me.unit_id}`);
      unitSel.options[0].textContent = u.name;
    } catch { /* the number stays */ }
  }
}

async function loadSites() {
  const sites = await api("GET", `sites?unit_id=${unit()}`);
  siteSel.replaceChildren(...sites.map((s) => el("option", { value: s.id }, s.name)));
}

async function loadStaff() {
  staff = await api("GET", `units/${unit()}/staff`);
  document.getElementById("staff-list").replaceChildren(table([
    ["ops.name", (s) => s.name],
    ["ops.role", (s) => label("enum.staff_role", s.role)],
    ["field.id_number", (s) => s.id_number_masked],
    ["field.hired_on", (s) => s.hired_on],
    ["field.left_on", (s) => s.left_on ?? ""],
  ], staff, { rowAttrs: (s) => ({ dataset: { staff: s.id } }) }));
  for (const id of ["training-attendees", "drill-participants"]) {
    document.getElementById(id).replaceChildren(
      ...staff.map((s) => el("option", { value: s.id }, s.name)));
  }
}

async function loadContractors() {
  const rows = await api("GET", `units/${unit()}/contractors`);
  const current = (c) => c.agreements.find((a) => !a.valid_until || a.valid_until >= shanghaiDate());
  document.getElementById("contractor-list").replaceChildren(table([
    ["ops.contractor_name", (c) => c.name],
    ["ops.maintains", (c) => T(c.maintains ? "common.yes" : "common.no")],
    ["ops.agreement", (c) => {
      const a = current(c);
      return a ? `${a.valid_from} – ${a.valid_until ?? ""} ${a.scope}` : T("ops.no_agreement");
    }],
  ], rows, { rowAttrs: (c) => ({ dataset: { contractor: c.id } }) }));
  document.getElementById("agreement-contractor").replaceChildren(
    ...rows.map((c) => el("option", { value: c.id }, c.name)));
}

async function loadTrainings() {
  const rows = await api("GET", `units/${unit()}/trainings`);
  document.getElementById("training-list").replaceChildren(table([
    ["field.held_on", (t) => t.held_on],
    ["field.contents", (t) => t.contents.map((c) => label("enum.training_content", c)).join("、")],
    ["field.trainer", (t) => t.trainer],
    ["field.hours", (t) => String(t.hours)],
    ["field.attendee_ids", (t) => t.attendee_ids.map(staffName).join("、")],
  ], rows));
}

function orderActions(o) {
  const cell = el("span", {});
  const act = async (what) => {
    clearError(document.getElementById("order-error"));
    try {
      await api("POST", `work-orders/${o.id}/${what}`, what === "repair" ? {} : undefined);
      flash(flashBox, T(`ops.order_${what}_done`, { id: o.id }));
      await loadOrders();
    } catch (err) { showError(document.getElementById("order-error"), err); }
  };
  if (o.state === "assigned" && can("duty.write")) {
    cell.append(el("button", { type: "button", dataset: { act: "repair" }, onclick: () => act("repair") }, T("ops.repair")));
  }
  if (o.state === "repaired" && can("duty.manage")) {
    cell.append(el("button", { type: "button", dataset: { act: "verify" }, onclick: () => act("verify") }, T("ops.verify")));
  }
  if (o.state === "open" && can("duty.manage") && staff.length) {
    const pick = el("select", { name: "assignee" }, staff.map((s) => el("option", { value: s.id }, s.name)));
    const assign = async () => {
      try {
        await api("POST", `work-orders/${o.id}/assign`, { staff_id: Number(pick.value) });
        await loadOrders();
      } catch (err) { showError(document.getElementById("order-error"), err); }
    };
    cell.append(pick, el("button", { type: "button", dataset: { act: "assign" }, onclick: assign }, T("ops.assign")));
  }
  return cell;
}

async function loadOrders() {
  if (!site()) { document.getElementById("order-list").replaceChildren(); return; }
  const rows = await api("GET", `sites/${site()}/work-orders`);
  document.getElementById("order-list").replaceChildren(table([
    ["ops.order", (o) => `#${o.id}`],
    ["field.description", (o) => o.description],
    ["ops.opened", (o) => `${fmtTime(o.opened_at)} ${o.opened_by}`],
    ["field.state", (o) => label("enum.work_order_state", o.state)],
    ["ops.actions", orderActions],
  ], rows, { rowAttrs: (o) => ({ dataset: { order: o.id } }) }));
}

async function loadSchedules() {
  if (!site()) { document.getElementById("schedule-list").replaceChildren(); return; }
  const [rows, cameras] = await Promise.all([
    api("GET", `sites/${site()}/inspection-schedules`), api("GET", `cameras?site_id=${site()}`),
  ]);
  const cameraName = (id) => cameras.find((c) => c.id === id)?.name ?? `#${id}`;
  document.getElementById("schedule-camera").replaceChildren(
    el("option", { value: "" }, T("ops.whole_system")),
    ...cameras.map((c) => el("option", { value: c.id }, c.name)));
  const record = (s) => {
    if (!can("duty.write") || !staff.length) return "";
    const who = el("select", { name: "staff_id" }, staff.map((m) => el("option", { value: m.id }, m.name)));
    const done = async () => {
      clearError(document.getElementById("inspection-error"));
      try {
        await api("POST", `inspection-schedules/${s.id}/inspections`, {
          done_on: shanghaiDate(), staff_id: Number(who.value), result: "ok",
        });
        await refresh();
      } catch (err) { showError(document.getElementById("inspection-error"), err); }
    };
    return el("span", {}, who, el("button", { type: "button", dataset: { act: "inspected" }, onclick: done }, T("ops.inspected_today")));
  };
  document.getElementById("schedule-list").replaceChildren(table([
    ["ops.subject", (s) => (s.camera_id ? cameraName(s.camera_id) : T("ops.whole_system"))],
    ["field.interval_days", (s) => String(s.interval_days)],
    ["ops.last_inspection", (s) => s.inspections.at(-1)?.done_on ?? s.starts_on],
    ["ops.actions", record],
  ], rows, { rowAttrs: (s) => ({ dataset: { schedule: s.id } }) }));
}

async function loadAssessments() {
  const rows = await api("GET", `units/${unit()}/assessments`);
  document.getElementById("assessment-list").replaceChildren(table([
    ["field.done_on", (a) => a.done_on],
    ["ops.assessor", (a) => a.assessor],
    ["ops.conclusion", (a) => label("enum.assessment_conclusion", a.conclusion)],
  ], rows));
}

async function loadPlans() {
  const plans = await api("GET", `units/${unit()}/emergency-plans`);
  const drills = await api("GET", `units/${unit()}/drills`);
  document.getElementById("plan-list").replaceChildren(table([
    ["ops.plan_title", (p) => p.title],
    ["ops.plan_version", (p) => p.version],
    ["ops.approved_on", (p) => p.approved_on],
  ], plans));
  document.getElementById("drill-list").replaceChildren(table([
    ["field.held_on", (d) => d.held_on],
    ["ops.scenario", (d) => d.scenario],
    ["field.participant_ids", (d) => d.participant_ids.map(staffName).join("、")],
  ], drills));
}

async function loadFindings() {
  if (!site()) return;
  const report = await api("GET", `compliance/sites/${site()}`);
  const rows = report.findings.filter((f) => MINE.some((p) => f.code.startsWith(p)));
  document.getElementById("ops-findings").replaceChildren(table([
    ["ops.finding", (f) => f.text],
    ["ops.articles", (f) => el("span", {}, f.rule_ids.join(", "), articleText(f.articles.join(", ")))],
  ], rows, { empty: "ops.no_findings", rowAttrs: (f) => ({ dataset: { code: f.code } }) }));
}

async function refresh() {
  clearError(pageError);
  try {
    await loadStaff();
    await Promise.all([
      loadTrainings(), loadOrders(), loadPlans(), loadContractors(), loadSchedules(), loadAssessments(),
    ]);
    if (can("compliance.read")) await loadFindings();
  } catch (err) { showError(pageError, err); }
}

function submitter(form, send, done) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const box = form.querySelector("[data-errors]");
    clearError(box);
    try {
      await send(formData(form));
      form.reset();
      flash(flashBox, T(done));
      await refresh();
    } catch (err) { showError(box, err); }
  });
}

submitter(document.getElementById("staff-form"),
  (d) => api("POST", `units/${unit()}/staff`, d), "ops.staff_added");
submitter(document.getElementById("training-form"),
  (d) => api("POST", `units/${unit()}/trainings`, { ...d, attendee_ids: d.attendee_ids.map(Number) }),
  "ops.training_added");
submitter(document.getElementById("contractor-form"),
  (d) => api("POST", `units/${unit()}/contractors`, d), "ops.contractor_added");
submitter(document.getElementById("agreement-form"),
  ({ contractor_id, ...d }) => api("POST", `contractors/${contractor_id}/agreements`, d),
  "ops.agreement_added");
submitter(document.getElementById("plan-form"),
  (d) => api("POST", `units/${unit()}/emergency-plans`, d), "ops.plan_added");
submitter(document.getElementById("drill-form"),
  (d) => api("POST", `units/${unit()}/drills`, { ...d, participant_ids: d.participant_ids.map(Number) }),
  "ops.drill_added");
submitter(document.getElementById("schedule-form"),
  (d) => api("POST", `sites/${site()}/inspection-schedules`, { ...d, camera_id: d.camera_id ? Number(d.camera_id) : null }),
  "ops.schedule_added");
submitter(document.getElementById("assessment-form"),
  (d) => api("POST", `units/${unit()}/assessments`, d), "ops.assessment_added");
submitter(document.getElementById("order-form"),
  (d) => api("POST", `sites/${site()}/work-orders`, d), "ops.order_opened");

document.getElementById("assessment-conclusion").replaceChildren(
  ...["effective", "needs_improvement"].map((v) => el("option", { value: v }, T(`enum.assessment_conclusion.${v}`))));
for (const f of document.querySelectorAll("[data-manage]")) f.hidden = !can("duty.manage");
for (const f of document.querySelectorAll("[data-write]")) f.hidden = !can("duty.write");
unitSel.addEventListener("change", async () => { await loadSites(); await refresh(); });
siteSel.addEventListener("change", refresh);

(async () => {
  try {
    await loadUnits();
    await loadSites();
    await refresh();
  } catch (err) { showError(pageError, err); }
})();
