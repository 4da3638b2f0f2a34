/* vnsearch web page: small shared helpers (formatting, safe links, JSON fetch). */

/** "2021-04-24..." -> "24/04/2021"; anything else as given. */
export function formatDate(value) {
  if (!value) return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[3]}/${m[2]}/${m[1]}` : value;
}

/** An absolute http(s) URL, or null: links are never made from other schemes nor from a
 *  relative URL (the server already answers such a URL as `url_text`, `url` null). */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const u = new URL(url);
    return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
  } catch (e) {
    return null;
  }
}

export function formatMs(ms) {
  const n = Number(ms) || 0;
  return n < 10 ? n.toLocaleString("vi-VN", { maximumFractionDigits: 1 })
                : Math.round(n).toLocaleString("vi-VN");
}

export function formatCount(n) {
  return (Number(n) || 0).toLocaleString("vi-VN");
}

function errorMessage(body, status) {
  if (body && body.error && body.error.message) {
    const e = body.error;
    const field = e.field ? ` (trường: ${e.field})` : "";
    return `Lỗi ${e.status || status}: ${e.message}${field}`;
  }
  return `Lỗi ${status}: máy chủ trả về phản hồi không hợp lệ.`;
}

/** GET a JSON body; throws an Error with a Vietnamese message (AbortError passes through). */
export async function getJson(url, signal) {
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

/** document.createElement with a class and text (text always goes in as textContent). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}
