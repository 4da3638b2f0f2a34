/* vnsearch web page: counts of the whole result set (the API's `facets`) by outlet, category
 * and year. Each count is a button that applies that filter (pressed again: removes it);
 * the years are a small bar chart in plain HTML/CSS. */
import { el, formatCount } from "./util.js";

const SHOWN = 8;  // values per group before "Xem tất cả"

/** The active filter value of a facet group in the search state (years: a whole year). */
function activeValue(kind, s) {
  if (kind !== "year") return s[kind] || "";
  const m = /^(\d{4})-01-01$/.exec(s.date_from || "");
  return m && s.date_to === `${m[1]}-12-31` ? m[1] : "";
}

function countButton(kind, item, s, apply) {
  const value = item.value === null || item.value === undefined ? "" : String(item.value);
  const active = value !== "" && activeValue(kind, s) === value;
  const btn = el("button", "facet-btn");
  btn.type = "button";
  btn.dataset.testid = `facet-${kind}`;
  btn.dataset.value = value;
  btn.dataset.count = String(item.count);
  btn.setAttribute("aria-pressed", active ? "true" : "false");
  btn.append(el("span", "facet-name", value || "(không rõ)"),
             el("span", "facet-count", formatCount(item.count)));
  btn.title = active ? "Bỏ lọc này" : "Lọc theo mục này";
  // articles without an outlet/category cannot be selected by a filter
  if (!value) btn.disabled = true;
  else btn.addEventListener("click", () => apply(kind, active ? "" : value));
  return btn;
}

function listGroup(kind, label, items, s, apply) {
  const group = el("div", "facet-group");
  group.dataset.kind = kind;
  const id = `facet-head-${kind}`;
  const head = el("h3", "facet-head", label);
  head.id = id;
  const list = el("ul", "facet-list");
  list.setAttribute("aria-labelledby", id);
  items.forEach((item, i) => {
    const li = el("li");
    if (i >= SHOWN) li.hidden = true;
    li.appendChild(countButton(kind, item, s, apply));
    list.appendChild(li);
  });
  group.append(head, list);
  if (items.length > SHOWN) {
    const more = el("button", "btn btn-link btn-small facet-more",
                    `Xem tất cả (${formatCount(items.length)})`);
    more.type = "button";
    more.addEventListener("click", () => {
      for (const li of list.children) li.hidden = false;
      more.remove();
    });
    group.appendChild(more);
  }
  return group;
}

function yearGroup(items, s, apply) {
  const group = el("div", "facet-group");
  group.dataset.kind = "year";
  const head = el("h3", "facet-head", "Số bài theo năm");
  head.id = "facet-head-year";
  const years = [...items].sort((a, b) => String(a.value).localeCompare(String(b.value)));
  const max = Math.max(1, ...years.map((y) => Number(y.count) || 0));
  const chart = el("ul", "year-chart");
  chart.setAttribute("aria-labelledby", head.id);
  for (const item of years) {
    const li = el("li");
    const btn = countButton("year", item, s, apply);
    btn.className = "year-bar";
    btn.replaceChildren(el("span", "year-count", formatCount(item.count)),
                        el("span", "year-fill"), el("span", "year-label", String(item.value)));
    btn.style.setProperty("--h", String((Number(item.count) || 0) / max));
    btn.setAttribute("aria-label", `Năm ${item.value}: ${formatCount(item.count)} bài`);
    li.appendChild(btn);
    chart.appendChild(li);
  }
  group.append(head, chart);
  return group;
}

/** Fill `container` from the API's facets (hidden when there is nothing to show).
 * `apply(kind, value)`: kind is "source", "category" or "year"; value "" removes it. */
export function renderFacets(container, facets, s, apply) {
  const body = container.querySelector(".facets-body");
  body.replaceChildren();
  const f = facets || {};
  const src = Array.isArray(f.source) ? f.source : [];
  const cat = Array.isArray(f.category) ? f.category : [];
  const year = Array.isArray(f.year) ? f.year : [];
  if (src.length) body.appendChild(listGroup("source", "Nguồn", src, s, apply));
  if (cat.length) body.appendChild(listGroup("category", "Chuyên mục", cat, s, apply));
  if (year.length) body.appendChild(yearGroup(year, s, apply));
  container.hidden = !body.childElementCount;
}
