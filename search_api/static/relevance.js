/* vnsearch web page: a hit's relevance (words and a bar) and the line on hits the relevance
 * cut-off hid.
 *
 * The words come with each hit (`relevance_label`, declared once in
 * search_api/retrieval/relevance_words.py), so the page, the CLI and the API say the same;
 * the bar is as long as the calibrated probability (`relevance`, 0-1). No percentage: "1 %"
 * reads as a failing grade, while the probability says how many such hits are right.
 */
import { el, formatCount } from "./util.js";

// The bar's colour follows the words (not thresholds of its own), so both always agree.
const LEVELS = { "rất phù hợp": "high", "phù hợp": "mid" };

/** Fill a hit's `.relevance` node: the words, and a bar whose length is the probability. */
export function renderRelevance(node, relevance, label) {
  const r = Number(relevance);
  if (!Number.isFinite(r)) { node.remove(); return; }
  const v = Math.max(0, Math.min(1, r));
  const words = label || "";
  node.dataset.level = LEVELS[words] || "low";
  node.dataset.value = String(r);
  node.querySelector(".rel-fill").style.width = `${v * 100}%`;
  node.querySelector(".rel-label").textContent = words;
  node.setAttribute("aria-label", `Độ liên quan: ${words}`);
}

/** The cut-off line under the total: how many hits `min_relevance` hid, with a link that
 * shows them (`showAll`); or, when they are shown, a link back to the default (`hide`).
 * `href(extra)` builds the link's URL, so it also works opened in a new tab. */
export function renderCut(node, cut, showingAll, { href, showAll, hide }) {
  const n = Number(cut) || 0;
  node.replaceChildren();
  if (n > 0) {
    const link = el("a", "cut-show", "Hiện cả các kết quả này");
    link.href = href({ min_relevance: "0" });
    link.dataset.testid = "cut-show";
    link.addEventListener("click", (ev) => { ev.preventDefault(); showAll(); });
    node.append(`Đã ẩn ${formatCount(n)} kết quả ít liên quan (dưới ngưỡng phù hợp) · `, link);
  } else if (showingAll) {
    const link = el("a", "cut-hide", "Ẩn kết quả ít liên quan");
    link.href = href({ min_relevance: "" });
    link.dataset.testid = "cut-hide";
    link.addEventListener("click", (ev) => { ev.preventDefault(); hide(); });
    node.append("Đang hiện cả các kết quả ít liên quan · ", link);
  }
  node.hidden = !node.childNodes.length;
}
