/* vnsearch web page: plain JS, no build step, no external resources.
 *
 * Security: the only HTML inserted from the server is `highlighted` (escaped server-side,
 * with <mark> around matched words). Every other value goes in with textContent, and
 * links are only made from http(s) URLs.
 *
 * State lives in the URL (?q=&mode=&source=&category=&date_from=&date_to=&offset=), so a
 * search can be shared and the back button works. After each search (success, empty or
 * error) <html data-searches> is incremented, which lets tests wait for a finished search.
 */
"use strict";

(function () {
  const PAGE_SIZE = 10;
  const FIELDS = ["q", "mode", "source", "category", "date_from", "date_to"];
  const MODES = ["hybrid", "dense", "lexical"];

  const $ = (id) => document.getElementById(id);
  const form = $("search-form");
  const inputs = {
    q: $("q"), mode: $("mode"), source: $("source"), category: $("category"),
    date_from: $("date-from"), date_to: $("date-to"),
  };
  const resultsEl = $("results");
  const totalEl = $("total");
  const errorEl = $("error");
  const emptyEl = $("empty");
  const pager = $("pager");
  const prevBtn = $("prev");
  const nextBtn = $("next");
  const pageInfo = $("page-info");
  const template = $("result-template");
  const dialog = $("article");

  let current = null;        // state of the search on screen
  let searchSeq = 0;         // to drop answers of superseded searches
  let controller = null;     // AbortController of the search in flight
  let completed = 0;
  let lastTrigger = null;    // element to refocus when the article dialog closes

  // ---------------------------------------------------------------- state <-> URL / form
  function emptyState() {
    return { q: "", mode: "hybrid", source: "", category: "", date_from: "", date_to: "", offset: 0 };
  }

  function stateFromUrl() {
    const p = new URLSearchParams(window.location.search);
    const s = emptyState();
    for (const f of FIELDS) s[f] = (p.get(f) || "").trim();
    if (!MODES.includes(s.mode)) s.mode = "hybrid";
    const off = parseInt(p.get("offset") || "0", 10);
    s.offset = Number.isFinite(off) && off > 0 ? off : 0;
    return s;
  }

  function stateFromForm() {
    const s = emptyState();
    for (const f of FIELDS) s[f] = (inputs[f].value || "").trim();
    return s;
  }

  function toQuery(s, extra) {
    const p = new URLSearchParams();
    for (const f of FIELDS) {
      if (s[f] && !(f === "mode" && s[f] === "hybrid")) p.set(f, s[f]);
    }
    if (s.offset) p.set("offset", String(s.offset));
    if (extra) for (const [k, v] of Object.entries(extra)) p.set(k, v);
    return p.toString();
  }

  function ensureOption(select, value) {
    if (!value) return;
    for (const opt of select.options) if (opt.value === value) return;
    const opt = document.createElement("option");
    opt.value = value;
    opt.textContent = value;
    select.appendChild(opt);
  }

  function fillForm(s) {
    for (const f of FIELDS) {
      if (inputs[f].tagName === "SELECT") ensureOption(inputs[f], s[f]);
      inputs[f].value = s[f];
    }
    if (!inputs.mode.value) inputs.mode.value = "hybrid";
  }

  // ---------------------------------------------------------------- formatting helpers
  function formatDate(value) {
    if (!value) return "";
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
    return m ? `${m[3]}/${m[2]}/${m[1]}` : value;
  }

  function safeUrl(url) {
    if (!url) return null;
    try {
      const u = new URL(url, window.location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function formatMs(ms) {
    const n = Number(ms) || 0;
    return n < 10 ? n.toLocaleString("vi-VN", { maximumFractionDigits: 1 })
                  : Math.round(n).toLocaleString("vi-VN");
  }

  function errorMessage(body, status) {
    if (body && body.error && body.error.message) {
      const e = body.error;
      const field = e.field ? ` (trường: ${e.field})` : "";
      return `Lỗi ${e.status || status}: ${e.message}${field}`;
    }
    return `Lỗi ${status}: máy chủ trả về phản hồi không hợp lệ.`;
  }

  async function getJson(url, signal) {
    let resp;
    try {
      resp = await fetch(url, { headers: { Accept: "application/json" }, signal });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new Error("Không kết nối được tới máy chủ. Vui lòng thử lại.");
    }
    let body = null;
    try { body = await resp.json(); } catch (e) { body = null; }
    if (!resp.ok || body === null) throw new Error(errorMessage(body, resp.status));
    return body;
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
    totalEl.textContent = "";
  }

  function renderHit(hit) {
    const li = template.content.firstElementChild.cloneNode(true);
    li.dataset.articleId = hit.article_id;
    li.dataset.passageId = String(hit.passage_id);
    li.dataset.rank = String(hit.rank);

    const heading = li.querySelector(".result-heading");
    heading.replaceChildren();
    const href = safeUrl(hit.url);
    const title = hit.title || "(không có tiêu đề)";
    if (href) {
      const a = document.createElement("a");
      a.className = "result-title";
      a.dataset.testid = "result-title";
      a.href = href;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      a.textContent = title;
      heading.appendChild(a);
    } else {
      const span = document.createElement("span");
      span.className = "result-title";
      span.dataset.testid = "result-title";
      span.textContent = title;
      const note = document.createElement("span");
      note.className = "no-link";
      note.textContent = " (không có liên kết)";
      heading.append(span, note);
    }

    const source = li.querySelector(".result-source");
    source.textContent = hit.source || "Không rõ nguồn";
    const date = li.querySelector(".result-date");
    if (hit.published) {
      date.textContent = formatDate(hit.published);
      date.title = hit.published;
    } else {
      date.remove();
    }
    const cat = li.querySelector(".result-category");
    if (hit.category) cat.textContent = hit.category; else cat.remove();

    // `highlighted` is HTML-escaped by the server; only <mark> tags are markup.
    li.querySelector(".passage").innerHTML = hit.highlighted;

    const other = li.querySelector(".other-matches");
    if (hit.other_matches > 0) {
      other.textContent = `+${hit.other_matches} đoạn khác khớp`;
      other.hidden = false;
    }
    const btn = li.querySelector(".view-article");
    btn.setAttribute("aria-label", `Xem toàn bài: ${title}`);
    btn.addEventListener("click", () => openArticle(hit, btn));
    return li;
  }

  function render(s, data) {
    clearResults();
    const results = Array.isArray(data.results) ? data.results : [];
    const total = Number(data.total) || 0;
    if (!results.length) {
      emptyEl.hidden = false;
      totalEl.textContent = s.offset && total
        ? `Không còn kết quả (tổng ${total.toLocaleString("vi-VN")})`
        : `Tìm thấy 0 kết quả trong ${formatMs(data.took_ms)} ms`;
      if (s.offset && total) showPager(s, total);
      return "empty";
    }
    totalEl.textContent =
      `Tìm thấy ${total.toLocaleString("vi-VN")} kết quả trong ${formatMs(data.took_ms)} ms`;
    const frag = document.createDocumentFragment();
    for (const hit of results) frag.appendChild(renderHit(hit));
    resultsEl.appendChild(frag);
    resultsEl.start = s.offset + 1;
    showPager(s, total);
    return "done";
  }

  function showPager(s, total) {
    const hasPrev = s.offset > 0;
    const hasNext = s.offset + PAGE_SIZE < total;
    pager.hidden = !hasPrev && !hasNext;
    prevBtn.disabled = !hasPrev;
    nextBtn.disabled = !hasNext;
    const page = Math.floor(s.offset / PAGE_SIZE) + 1;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    pageInfo.textContent = `Trang ${page} / ${pages}`;
  }

  // ---------------------------------------------------------------- searching
  async function runSearch(s) {
    current = s;
    fillForm(s);
    document.title = s.q ? `${s.q} — vnsearch` : "vnsearch — Tìm kiếm tin tức";
    if (!s.q) {
      if (controller) controller.abort();
      clearResults();
      showError("");
      resultsEl.dataset.state = "idle";
      return;
    }
    if (controller) controller.abort();
    controller = new AbortController();
    const seq = ++searchSeq;
    showError("");
    setBusy(true);
    resultsEl.dataset.state = "loading";
    totalEl.textContent = "Đang tìm…";
    try {
      const data = await getJson(`/search?${toQuery(s, { k: String(PAGE_SIZE) })}`, controller.signal);
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
  for (const f of ["mode", "source", "category"]) {
    inputs[f].addEventListener("change", () => {
      if (inputs.q.value.trim()) form.requestSubmit();
    });
  }

  $("reset").addEventListener("click", () => {
    inputs.mode.value = "hybrid";
    for (const f of ["source", "category", "date_from", "date_to"]) inputs[f].value = "";
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

  // ---------------------------------------------------------------- facets
  async function loadFacets() {
    try {
      const data = await getJson("/facets");
      fillSelect(inputs.source, data.sources || []);
      fillSelect(inputs.category, data.categories || []);
    } catch (e) {
      /* the filters stay at "all"; searching still works */
    }
    if (current) fillForm(current);
  }

  function fillSelect(select, values) {
    const keep = select.value;
    const first = select.options[0];
    select.replaceChildren(first);
    for (const v of values) {
      const opt = document.createElement("option");
      opt.value = v;
      opt.textContent = v;
      select.appendChild(opt);
    }
    ensureOption(select, keep);
    select.value = keep;
  }

  // ---------------------------------------------------------------- article dialog
  async function openArticle(hit, trigger) {
    lastTrigger = trigger;
    const titleEl = $("article-title");
    const metaEl = $("article-meta");
    const textEl = $("article-text");
    const errEl = $("article-error");
    titleEl.textContent = hit.title || "(không có tiêu đề)";
    metaEl.textContent = "Đang tải…";
    textEl.replaceChildren();
    errEl.hidden = true;
    dialog.dataset.state = "loading";
    if (!dialog.open) dialog.showModal();
    try {
      const art = await getJson(`/articles/${encodeURIComponent(hit.article_id)}`);
      titleEl.replaceChildren();
      const href = safeUrl(art.url);
      if (href) {
        const a = document.createElement("a");
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        a.textContent = art.title || "(không có tiêu đề)";
        titleEl.appendChild(a);
      } else {
        titleEl.textContent = art.title || "(không có tiêu đề)";
      }
      metaEl.textContent = [art.source, formatDate(art.published), art.category]
        .filter(Boolean).join(" · ");
      const text = art.text || "";
      const start = Math.max(0, Math.min(hit.start, text.length));
      const end = Math.max(start, Math.min(hit.end, text.length));
      const mark = document.createElement("mark");
      mark.className = "focus-passage";
      mark.dataset.testid = "focus-passage";
      mark.textContent = text.slice(start, end);
      textEl.append(document.createTextNode(text.slice(0, start)), mark,
                    document.createTextNode(text.slice(end)));
      dialog.dataset.state = "done";
      if (end > start) mark.scrollIntoView({ block: "center" });
    } catch (e) {
      metaEl.textContent = "";
      errEl.textContent = e.message;
      errEl.hidden = false;
      dialog.dataset.state = "error";
    }
  }

  $("article-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (ev) => {
    if (ev.target === dialog) dialog.close();   // click on the backdrop
  });
  dialog.addEventListener("close", () => {
    if (lastTrigger && document.contains(lastTrigger)) lastTrigger.focus();
  });

  // ---------------------------------------------------------------- start
  const initial = stateFromUrl();
  fillForm(initial);
  loadFacets();
  if (initial.q) runSearch(initial);
  else { current = initial; inputs.q.focus(); }
})();
