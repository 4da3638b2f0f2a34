/* vnsearch web page: the whole-article dialog.
 *
 * The article opens with every matching passage of the hit marked: the hit's own passage
 * (mark.focus-passage) and the article's other matching passages (mark.other-passage, ids
 * from the hit's `other_passage_ids`, offsets from /articles/{id}). "Đoạn trước / Đoạn sau"
 * step through them in reading order. Article text goes in as text nodes only.
 * Under the text, "Bài liên quan" lists the article's related coverage (other stories on
 * the same event or topic, newest first: /articles/{id}/related); each opens in the dialog.
 */
import { el, formatDate, getJson, safeUrl } from "./util.js";

const $ = (id) => document.getElementById(id);
const dialog = $("article");
const titleEl = $("article-title");
const metaEl = $("article-meta");
const textEl = $("article-text");
const errEl = $("article-error");
const nav = $("article-nav");
const navInfo = $("article-nav-info");
const navPrev = $("article-prev");
const navNext = $("article-next");
const provincesEl = $("article-provinces");
const relatedEl = $("article-related");
const relatedList = $("article-related-list");
const relatedEmpty = $("article-related-empty");

let lastTrigger = null;   // element to refocus when the dialog closes
let stops = [];           // first <mark> of each marked passage, in reading order
let at = -1;              // index in `stops` of the passage on screen
let openSeq = 0;          // drops answers for an article the user already left

/** [{id, start, end, main}] of the hit's passages present in the article, in reading order. */
function markedPassages(hit, art) {
  const len = (art.text || "").length;
  const clamp = (v) => Math.max(0, Math.min(Number(v) || 0, len));
  const byId = new Map((art.passages || []).map((p) => [p.id, p]));
  const out = [{ id: hit.passage_id, start: clamp(hit.start), end: clamp(hit.end), main: true }];
  for (const id of hit.other_passage_ids || []) {
    const p = byId.get(id);
    if (p && id !== hit.passage_id) out.push({ id, start: clamp(p.start), end: clamp(p.end), main: false });
  }
  return out.filter((p) => p.end > p.start || p.main).sort((a, b) => a.start - b.start);
}

/** Fill the text with marks; passages may overlap (the hit's own passage wins).
 * Returns {passage id: first mark element}. */
function renderText(text, passages) {
  const cuts = new Set([0, text.length]);
  for (const p of passages) { cuts.add(p.start); cuts.add(p.end); }
  const points = [...cuts].sort((a, b) => a - b);
  const first = new Map();
  const frag = document.createDocumentFragment();
  let mark = null;  // the mark being extended: one element per run of the same passage
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    const covering = passages.filter((p) => p.start <= a && b <= p.end);
    const owner = covering.find((p) => p.main) || covering[0];
    if (!owner) {
      frag.appendChild(document.createTextNode(text.slice(a, b)));
      mark = null;
      continue;
    }
    if (mark && mark.dataset.passageId === String(owner.id)) {
      mark.textContent += text.slice(a, b);
    } else {
      mark = el("mark", owner.main ? "focus-passage" : "other-passage", text.slice(a, b));
      mark.dataset.testid = owner.main ? "focus-passage" : "other-passage";
      mark.dataset.passageId = String(owner.id);
      frag.appendChild(mark);
    }
    for (const p of covering) if (!first.has(p.id)) first.set(p.id, mark);
  }
  // an empty own passage (offsets out of range) still gets an anchor to scroll to
  for (const p of passages) {
    if (!first.has(p.id) && p.main) {
      const mark = el("mark", "focus-passage", "");
      mark.dataset.testid = "focus-passage";
      mark.dataset.passageId = String(p.id);
      frag.appendChild(mark);
      first.set(p.id, mark);
    }
  }
  textEl.replaceChildren(frag);
  return first;
}

function go(index) {
  if (!stops.length) return;
  at = Math.max(0, Math.min(index, stops.length - 1));
  for (const m of textEl.querySelectorAll("mark.current")) m.classList.remove("current");
  const target = stops[at];
  for (const m of textEl.querySelectorAll(`mark[data-passage-id="${target.dataset.passageId}"]`)) {
    m.classList.add("current");
  }
  target.scrollIntoView({ block: "center" });
  navInfo.textContent = `Đoạn khớp ${at + 1} / ${stops.length}`;
  navPrev.disabled = at === 0;
  navNext.disabled = at === stops.length - 1;
}

function showTitle(art) {
  titleEl.replaceChildren();
  const title = art.title || "(không có tiêu đề)";
  const href = safeUrl(art.url);
  if (!href) { titleEl.textContent = title; return; }
  const a = el("a", "", title);
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  titleEl.appendChild(a);
}

function showProvinces(art) {
  const current = art.provinces || [];
  const former = (art.provinces_former || []).filter((p) => !current.includes(p));
  let text = current.length ? `Tỉnh/thành: ${current.join(", ")}` : "";
  if (former.length) text += ` (trước 1/7/2025: ${former.join(", ")})`;
  provincesEl.textContent = text;
  provincesEl.hidden = !text;
}

function relatedItem(item) {
  const li = el("li", "related-item");
  li.dataset.testid = "related-item";
  li.dataset.articleId = item.article_id;
  li.dataset.published = item.published || "";
  const open = el("button", "btn btn-link related-open", item.title || "(không có tiêu đề)");
  open.type = "button";
  open.addEventListener("click", () => openArticle(
    { article_id: item.article_id, title: item.title, passage_id: null, start: 0, end: 0 },
    lastTrigger));
  const meta = [item.source, formatDate(item.published) || "Không rõ ngày",
                (item.provinces || []).join(", ")].filter(Boolean).join(" · ");
  li.append(open, el("span", "meta related-meta", ` ${meta}`));
  const href = safeUrl(item.url);
  if (href) {
    const a = el("a", "related-link", "↗");
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.setAttribute("aria-label", `Mở bài gốc: ${item.title || ""}`);
    li.append(" ", a);
  }
  return li;
}

async function loadRelated(articleId, seq) {
  relatedList.replaceChildren();
  relatedEmpty.hidden = true;
  relatedEl.hidden = true;
  relatedEl.dataset.state = "loading";
  try {
    const data = await getJson(`/articles/${encodeURIComponent(articleId)}/related?k=10`);
    if (seq !== openSeq) return;
    const items = Array.isArray(data.related) ? data.related : [];
    relatedList.replaceChildren(...items.map(relatedItem));
    relatedEmpty.hidden = items.length > 0;
    relatedEl.hidden = false;
    relatedEl.dataset.state = "done";
  } catch (e) {
    if (seq !== openSeq) return;
    relatedEl.dataset.state = "error";   // the article itself is still shown
  }
}

/** Open the hit's article; `atOthers`: start at its best other matching passage. */
export async function openArticle(hit, trigger, atOthers = false) {
  const seq = ++openSeq;
  lastTrigger = trigger;
  titleEl.textContent = hit.title || "(không có tiêu đề)";
  metaEl.textContent = "Đang tải…";
  textEl.replaceChildren();
  errEl.hidden = true;
  nav.hidden = true;
  provincesEl.hidden = true;
  relatedEl.hidden = true;
  relatedList.replaceChildren();
  stops = [];
  dialog.dataset.state = "loading";
  if (!dialog.open) dialog.showModal();
  try {
    const art = await getJson(`/articles/${encodeURIComponent(hit.article_id)}`);
    if (seq !== openSeq) return;
    showTitle(art);
    metaEl.textContent = [art.source, formatDate(art.published), art.category]
      .filter(Boolean).join(" · ");
    showProvinces(art);
    loadRelated(art.id, seq);
    const passages = markedPassages(hit, art);
    const first = renderText(art.text || "", passages);
    stops = passages.map((p) => first.get(p.id)).filter(Boolean);
    nav.hidden = stops.length < 2;
    const want = atOthers && passages.some((p) => !p.main)
      ? (hit.other_passage_ids || []).find((id) => first.has(id)) : hit.passage_id;
    dialog.dataset.state = "done";
    go(Math.max(0, stops.indexOf(first.get(want))));
  } catch (e) {
    if (seq !== openSeq) return;
    metaEl.textContent = "";
    errEl.textContent = e.message;
    errEl.hidden = false;
    dialog.dataset.state = "error";
  }
}

navPrev.addEventListener("click", () => go(at - 1));
navNext.addEventListener("click", () => go(at + 1));
$("article-close").addEventListener("click", () => dialog.close());
dialog.addEventListener("click", (ev) => {
  if (ev.target === dialog) dialog.close();   // click on the backdrop
});
dialog.addEventListener("close", () => {
  openSeq += 1;
  if (lastTrigger && document.contains(lastTrigger)) lastTrigger.focus();
});
