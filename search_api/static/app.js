/* vnsearch web page: plain JS modules, no build step, no external resources.
 *
 * Security: the only HTML inserted from the server is `highlighted` (escaped server-side,
 * with <mark> around matched words). Every other value goes in with textContent, and
 * links are only made from http(s) URLs.
 *
 * State lives in the URL (?q=&mode=&source=&category=&province=&date_from=&date_to=&sort=&offset=,
 * and min_relevance=0 once the user asked to see the hits the relevance cut-off hid), so a
 * search can be shared and the back button works. After each search (success, empty or
 * error) <html data-searches> is incremented, which lets tests wait for a finished search.
 */
import { openArticle } from "./article.js";
import { renderFacets } from "./facets.js";
import { renderCut, renderRelevance } from "./relevance.js";
import { el, formatCount, formatDate, formatMs, getJson, safeUrl } from "./util.js";

const PAGE_SIZE = 10;
const FIELDS = ["q", "mode", "source", "category", "province", "date_from", "date_to", "sort"];
const FILTERS = ["source", "category", "province", "date_from", "date_to"];
const DEFAULTS = { mode: "hybrid", sort: "relevance" };
const CHOICES = { mode: ["hybrid", "dense", "lexical"], sort: ["relevance", "newest", "oldest"] };

const $ = (id) => document.getElementById(id);
const form = $("search-form");
const inputs = {
  q: $("q"), mode: $("mode"), source: $("source"), category: $("category"),
  province: $("province"), date_from: $("date-from"), date_to: $("date-to"), sort: $("sort"),
};
const resultsEl = $("results");
const totalEl = $("total");
const errorEl = $("error");
const emptyEl = $("empty");
const hintsEl = $("empty-hints");
const facetsEl = $("facets");
const provinceNoteEl = $("province-note");
const cutNoteEl = $("cut-note");
const pager = $("pager");
const prevBtn = $("prev");
const nextBtn = $("next");
const pageInfo = $("page-info");
const template = $("result-template");

let current = null;        // state of the search on screen
let searchSeq = 0;         // to drop answers of superseded searches
let controller = null;     // AbortController of the search in flight
let completed = 0;

// ---------------------------------------------------------------- state <-> URL / form
function emptyState() {
  return { q: "", mode: "hybrid", source: "", category: "", province: "", date_from: "",
           date_to: "", sort: "relevance", offset: 0, min_relevance: "" };
}

function normalise(s) {
  for (const [f, allowed] of Object.entries(CHOICES)) {
    if (!allowed.includes(s[f])) s[f] = DEFAULTS[f];
  }
  return s;
}

function stateFromUrl() {
  const p = new URLSearchParams(window.location.search);
  const s = emptyState();
  for (const f of FIELDS) s[f] = (p.get(f) || "").trim();
  const off = parseInt(p.get("offset") || "0", 10);
  s.offset = Number.isFinite(off) && off > 0 ? off : 0;
  s.min_relevance = (p.get("min_relevance") || "").trim();
  return normalise(s);
}

function stateFromForm() {
  const s = emptyState();
  for (const f of FIELDS) s[f] = (inputs[f].value || "").trim();
  // "show the hidden hits" holds while the query stays the same (a filter or sort change)
  if (current && current.q === s.q) s.min_relevance = current.min_relevance;
  return normalise(s);
}

function toQuery(s, extra) {
  const p = new URLSearchParams();
  for (const f of FIELDS) {
    if (s[f] && s[f] !== DEFAULTS[f]) p.set(f, s[f]);
  }
  if (s.offset) p.set("offset", String(s.offset));
  if (s.min_relevance) p.set("min_relevance", s.min_relevance);
  if (extra) for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

function ensureOption(select, value) {
  if (!value) return;
  for (const opt of select.options) if (opt.value === value) return;
  const opt = el("option", "", value);
  opt.value = value;
  select.appendChild(opt);
}

function fillForm(s) {
  for (const f of FIELDS) {
    if (inputs[f].tagName === "SELECT") ensureOption(inputs[f], s[f]);
    inputs[f].value = s[f];
  }
}

// ---------------------------------------------------------------- rendering
function showError(msg) {
  errorEl.textContent = msg;
  errorEl.hidden = !msg;
}

function setBusy(busy) {
  resultsEl.setAttribute("aria-busy", busy ? "true" : "false");
  document.body.classList.toggle("is-loading", busy);
}

function finish(state) {
  resultsEl.dataset.state = state;
  completed += 1;
  document.documentElement.dataset.searches = String(completed);
}

function clearResults() {
  resultsEl.replaceChildren();
  emptyEl.hidden = true;
  pager.hidden = true;
  renderFacets(facetsEl, null);
  totalEl.textContent = "";
  provinceNoteEl.hidden = true;
  cutNoteEl.hidden = true;
}

function renderTitle(heading, hit, title) {
  heading.replaceChildren();
  const href = safeUrl(hit.url);
  const titleEl = el(href ? "a" : "span", "result-title", title);
  titleEl.dataset.testid = "result-title";
  if (href) {
    titleEl.href = href;
    titleEl.target = "_blank";
    titleEl.rel = "noopener noreferrer";
    heading.appendChild(titleEl);
  } else {
    heading.append(titleEl, el("span", "no-link", " (không có liên kết)"));
  }
}

function renderHit(hit) {
  const li = template.content.firstElementChild.cloneNode(true);
  li.dataset.articleId = hit.article_id;
  li.dataset.passageId = String(hit.passage_id);
  li.dataset.rank = String(hit.rank);
  li.dataset.published = hit.published || "";

  const title = hit.title || "(không có tiêu đề)";
  renderTitle(li.querySelector(".result-heading"), hit, title);
  li.querySelector(".result-source").textContent = hit.source || "Không rõ nguồn";
  const date = li.querySelector(".result-date");
  if (hit.published) {
    date.textContent = formatDate(hit.published);
    date.title = hit.published;
  } else {
    date.textContent = "Không rõ ngày";
    date.classList.add("undated");
  }
  const cat = li.querySelector(".result-category");
  if (hit.category) cat.textContent = hit.category; else cat.remove();
  const provinces = li.querySelector(".result-provinces");
  if (hit.provinces && hit.provinces.length) {
    provinces.textContent = hit.provinces.join(", ");
    provinces.title = "Tỉnh/thành bài viết nói về";
  } else provinces.remove();
  renderAlsoIn(li.querySelector(".also-in"), hit.also_in || []);

  // `highlighted` is HTML-escaped by the server; only <mark> tags are markup.
  li.querySelector(".passage").innerHTML = hit.highlighted;
  renderRelevance(li.querySelector(".relevance"), hit.relevance, hit.relevance_label);

  const other = li.querySelector(".other-matches");
  if (hit.other_matches > 0) {
    other.textContent = `+${formatCount(hit.other_matches)} đoạn khác khớp`;
    other.setAttribute("aria-label",
      `Xem ${formatCount(hit.other_matches)} đoạn khác khớp trong bài: ${title}`);
    other.hidden = false;
    other.addEventListener("click", () => openArticle(hit, other, true));
  }
  const btn = li.querySelector(".view-article");
  btn.setAttribute("aria-label", `Xem toàn bài: ${title}`);
  btn.addEventListener("click", () => openArticle(hit, btn));
  return li;
}

/** "Cũng đăng trên: outlet, outlet" — the story's other articles (links when http(s)). */
function renderAlsoIn(node, items) {
  if (!items.length) return;
  node.append(el("span", "also-in-label", "Cũng đăng trên: "));
  items.forEach((item, i) => {
    if (i) node.append(", ");
    const name = item.source || "Không rõ nguồn";
    const href = safeUrl(item.url);
    const link = el(href ? "a" : "span", "also-in-item", name);
    link.dataset.testid = "also-in-item";
    link.dataset.articleId = item.article_id;
    if (href) {
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    if (item.published) link.title = formatDate(item.published);
    node.append(link);
  });
  node.hidden = false;
}

/** Why nothing matched, and what to try next: the API's `hints` (the CLI prints the same
 * lines), plus a button that clears the filters when some are set. */
function emptyHints(s, data) {
  const hints = (Array.isArray(data.hints) ? data.hints : []).map((h) => el("li", "", h));
  if (FILTERS.some((f) => s[f])) {
    const clear = el("button", "btn btn-link btn-inline", "Xóa bộ lọc và tìm lại");
    clear.type = "button";
    clear.dataset.testid = "empty-clear-filters";
    clear.addEventListener("click", () => {
      const next = { ...s, offset: 0 };
      for (const f of FILTERS) next[f] = "";
      navigate(next);
    });
    const li = el("li", "empty-action");
    li.appendChild(clear);
    hints.push(li);
  }
  hintsEl.replaceChildren(...hints);
}

function totalText(total, data) {
  let text = `Tìm thấy ${formatCount(total)} kết quả trong ${formatMs(data.took_ms)} ms`;
  const undated = Number(data.undated_excluded) || 0;
  if (undated > 0) {
    text += ` · ${formatCount(undated)} bài không ghi ngày đã bị loại do lọc theo ngày`;
  }
  return text;
}

function render(s, data) {
  clearResults();
  const results = Array.isArray(data.results) ? data.results : [];
  const total = Number(data.total) || 0;
  // the note says which articles a former province stands for, also when none matched
  provinceNoteEl.textContent = data.province_note || "";
  provinceNoteEl.hidden = !data.province_note;
  renderCut(cutNoteEl, data.cut, s.min_relevance !== "", {
    href: (extra) => `?${toQuery({ ...s, offset: 0, ...extra })}`,
    showAll: () => navigate({ ...s, offset: 0, min_relevance: "0" }),
    hide: () => navigate({ ...s, offset: 0, min_relevance: "" }),
  });
  if (!results.length) {
    if (s.offset && total) {   // a page past the end (an edited URL): offer the way back
      totalEl.textContent = `Không còn kết quả (tổng ${formatCount(total)})`;
      hintsEl.replaceChildren(el("li", "", "Trang này vượt quá số kết quả."));
      showPager(s, total);
    } else {
      totalEl.textContent = totalText(0, data);
      emptyHints(s, data);
    }
    emptyEl.hidden = false;
    return "empty";
  }
  totalEl.textContent = totalText(total, data);
  const frag = document.createDocumentFragment();
  for (const hit of results) frag.appendChild(renderHit(hit));
  resultsEl.appendChild(frag);
  resultsEl.start = s.offset + 1;
  renderFacets(facetsEl, data.facets, s, applyFacet);
  showPager(s, total);
  return "done";
}

function showPager(s, total) {
  const hasPrev = s.offset > 0;
  const hasNext = s.offset + PAGE_SIZE < total;
  pager.hidden = !hasPrev && !hasNext;   // no results or a single page: no pager
  prevBtn.disabled = !hasPrev;
  nextBtn.disabled = !hasNext;
  const page = Math.floor(s.offset / PAGE_SIZE) + 1;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  pageInfo.textContent = `Trang ${page} / ${pages}`;
}

/** A click on a facet count: filter by it ("" removes the filter). */
function applyFacet(kind, value) {
  if (!current) return;
  const next = { ...current, offset: 0 };
  if (kind === "year") {
    next.date_from = value ? `${value}-01-01` : "";
    next.date_to = value ? `${value}-12-31` : "";
  } else {
    next[kind] = value;
  }
  navigate(next);
}

// ---------------------------------------------------------------- searching
async function runSearch(s) {
  current = s;
  fillForm(s);
  document.title = s.q ? `${s.q} — vnsearch` : "vnsearch — Tìm kiếm tin tức";
  if (controller) controller.abort();
  if (!s.q) {
    clearResults();
    showError("");
    resultsEl.dataset.state = "idle";
    return;
  }
  controller = new AbortController();
  const seq = ++searchSeq;
  showError("");
  setBusy(true);
  resultsEl.dataset.state = "loading";
  totalEl.textContent = "Đang tìm…";
  try {
    const url = `/search?${toQuery(s, { k: String(PAGE_SIZE), facets: "true" })}`;
    const data = await getJson(url, controller.signal);
    if (seq !== searchSeq) return;
    finish(render(s, data));
  } catch (e) {
    if (e.name === "AbortError" || seq !== searchSeq) return;
    clearResults();
    showError(e.message);
    finish("error");
  } finally {
    if (seq === searchSeq) setBusy(false);
  }
}

function navigate(s) {
  const qs = toQuery(s);
  const url = qs ? `?${qs}` : window.location.pathname;
  if (`?${qs}` !== window.location.search || !qs) history.pushState(null, "", url);
  runSearch(s);
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const s = stateFromForm();
  if (!s.q) {
    showError("Vui lòng nhập từ khóa tìm kiếm.");
    inputs.q.focus();
    return;
  }
  if (s.date_from && s.date_to && s.date_from > s.date_to) {
    showError("“Từ ngày” phải trước hoặc bằng “Đến ngày”.");
    inputs.date_from.focus();
    return;
  }
  s.offset = 0;
  navigate(s);
});

// Changing a select re-runs the current search (when there is one); dates apply on submit,
// since a date input fires "change" on every complete date while the user is still typing.
for (const f of ["mode", "source", "category", "province", "sort"]) {
  inputs[f].addEventListener("change", () => {
    if (inputs.q.value.trim()) form.requestSubmit();
  });
}

$("reset").addEventListener("click", () => {
  inputs.mode.value = "hybrid";
  for (const f of FILTERS) inputs[f].value = "";
  if (inputs.q.value.trim()) form.requestSubmit();
});

prevBtn.addEventListener("click", () => {
  if (!current) return;
  navigate({ ...current, offset: Math.max(0, current.offset - PAGE_SIZE) });
  window.scrollTo({ top: 0 });
});
nextBtn.addEventListener("click", () => {
  if (!current) return;
  navigate({ ...current, offset: current.offset + PAGE_SIZE });
  window.scrollTo({ top: 0 });
});

window.addEventListener("popstate", () => runSearch(stateFromUrl()));

// ---------------------------------------------------------------- filter choices
async function loadChoices() {
  try {
    const data = await getJson("/facets");
    fillSelect(inputs.source, data.sources || []);
    fillSelect(inputs.category, data.categories || []);
    fillSelect(inputs.province, (data.provinces || []).map((p) => p.name));
  } catch (e) {
    /* the filters stay at "all"; searching still works */
  }
  // no fillForm here: the user may have changed the form while /facets was loading, and
  // fillSelect keeps each select's value
}

function fillSelect(select, values) {
  const keep = select.value;
  const first = select.options[0];
  select.replaceChildren(first);
  // /facets lists the most frequent first; a drop-down reads best in Vietnamese A-Z order.
  const sorted = [...values].sort((a, b) => a.localeCompare(b, "vi"));
  for (const v of sorted) {
    const opt = el("option", "", v);
    opt.value = v;
    select.appendChild(opt);
  }
  ensureOption(select, keep);
  select.value = keep;
}

// ---------------------------------------------------------------- start
const initial = stateFromUrl();
fillForm(initial);
loadChoices();
if (initial.q) runSearch(initial);
else { current = initial; inputs.q.focus(); }
