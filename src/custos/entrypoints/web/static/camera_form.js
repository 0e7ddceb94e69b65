// The camera form's two hard fields: the 20-digit GB/T 28181 device code, decoded part by part
// and checked as it is typed, and the location categories, searchable and grouped.
import { el, T } from "./app.js";

const tables = JSON.parse(document.getElementById("code-tables").textContent);

/** The six parts of a device code (digits 1–20): where each starts, how long, what it is. */
export const CODE_PARTS = [
  { key: "division", from: 0, len: 6 },
  { key: "grassroots", from: 6, len: 2 },
  { key: "industry", from: 8, len: 2 },
  { key: "type", from: 10, len: 3 },
  { key: "network", from: 13, len: 1 },
  { key: "serial", from: 14, len: 6 },
];

function typeCategory(code) {
  const n = Number(code);
  return tables.type_ranges.find(([low, high]) => low <= n && n <= high);
}

/** What each part means, and the first problem, for what has been typed so far. */
export function decode(text) {
  const problems = [];
  if (/[^0-9]/.test(text)) problems.push(T("code.only_digits"));
  const parts = CODE_PARTS.map((p) => {
    const digits = text.slice(p.from, p.from + p.len);
    let meaning = "";
    if (p.key === "division" && digits.length >= 2 && digits.length < 6 && !tables.provinces[digits.slice(0, 2)]) {
      problems.push(T("code.bad_province", { code: digits.slice(0, 2) }));  // say so at once
    }
    if (digits.length === p.len && !/[^0-9]/.test(digits)) {
      if (p.key === "division") {
        const province = tables.provinces[digits.slice(0, 2)];
        if (!province) problems.push(T("code.bad_province", { code: digits.slice(0, 2) }));
        else if (digits.slice(2, 4) === "00" && digits.slice(4) !== "00") problems.push(T("code.county_without_city"));
        meaning = province || "";
      } else if (p.key === "industry") meaning = tables.industries[digits] || T("code.industry_other");
      else if (p.key === "type") {
        const range = typeCategory(digits);
        if (!range) problems.push(T("code.bad_type", { code: digits }));
        else if (!tables.video_types.includes(digits)) problems.push(T("code.not_video_source", { code: digits, allowed: tables.video_types.join("、") }));
        meaning = tables.types[digits] || (range ? range[2] : "");
      } else if (p.key === "network") meaning = T(`enum.network.${tables.networks[digits]}`);
    }
    return { ...p, digits, meaning };
  });
  if (!problems.length && text.length !== 20) problems.push(T("code.length", { n: text.length }));
  return { parts, problems };
}

/** Show the parts under the input and mark it invalid (setCustomValidity) while it is wrong. */
export function watchCode(input, box) {
  const show = () => {
    const { parts, problems } = decode(input.value.trim());
    box.replaceChildren(
      el("span", { class: "parts" }, parts.map((p) => el("span", { class: "part", dataset: { part: p.key } },
        el("b", { class: "mono" }, p.digits.padEnd(p.len, "·")),
        el("small", {}, `${T(`code.part.${p.key}`, { n: p.len })}${p.meaning ? `：${p.meaning}` : ""}`)))),
      problems.length ? el("span", { class: "code-problem", role: "alert" }, problems[0]) : el("span", { class: "code-ok" }, T("code.ok")),
    );
    input.setCustomValidity(input.value && problems.length ? problems[0] : "");
    input.classList.toggle("invalid", !!input.value && problems.length > 0);
  };
  input.addEventListener("input", show);
  return show;
}

/** Filter the categories as the user types (Chinese label, English label or key) and show the
 * chosen ones as removable chips; the <select> stays the form's field. */
export function categoryPicker(select, search, chips) {
  const all = [...select.options];
  const filter = () => {
    const q = search.value.trim().toLowerCase();
    for (const o of all) o.hidden = !!q && !`${o.textContent} ${o.value} ${o.dataset.en || ""}`.toLowerCase().includes(q);
    for (const g of select.querySelectorAll("optgroup")) g.hidden = ![...g.children].some((o) => !o.hidden);
  };
  const showChosen = () => {
    chips.replaceChildren(...all.filter((o) => o.selected).map((o) =>
      el("span", { class: "chip", dataset: { category: o.value } }, o.textContent,
        el("button", { type: "button", "aria-label": T("common.remove"), onclick: () => { o.selected = false; showChosen(); } }, "×"))));
  };
  search.addEventListener("input", filter);
  select.addEventListener("change", showChosen);
  return () => { search.value = ""; filter(); showChosen(); };
}
