// Small DOM and formatting helpers. Text always goes through textContent (never HTML).

/** h("td", {class: "x", onclick: f}, child, "text", …) → an element. */
export function h(tag, attributes = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of the element with id `id`. */
export function fill(id, ...children) {
  const el = document.getElementById(id);
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An ISO time as local "YYYY-MM-DD HH:MM:SS" (or "—"). */
export function localTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** A time as a short local one: "16:08:35" today (":SS" only when not 0), "tomorrow 09:00",
 * "yesterday 17:30", "Dec 03 16:08" this year, else "2027-01-05 16:08". */
export function shortTime(iso) {
  if (!iso) return "—";
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const day = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(d) - day(new Date())) / 86400000);
  if (days === 0) return d.getSeconds() ? `${hm}:${pad(d.getSeconds())}` : hm;
  if (days === 1) return `tomorrow ${hm}`;
  if (days === -1) return `yesterday ${hm}`;
  const month = d.toLocaleString("en", { month: "short" });
  if (d.getFullYear() === new Date().getFullYear()) return `${month} ${pad(d.getDate())} ${hm}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

const ISO_IN_TEXT =
  /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})/g;

/** `text` with each ISO 8601 timestamp in it (schedules, reasons, messages) written as a
 * short local time: "at 2026-12-03T16:08:35+00:00" → "at 17:08:35". */
export function humanize(text) {
  if (!text) return text;
  return String(text).replace(ISO_IN_TEXT, (found) => shortTime(found.replace(" ", "T")));
}

/** Seconds as "1h2m", "5m3s", "42s", "350ms". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.abs(seconds);
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** "in 5m" / "3s ago" relative to now. */
export function relative(iso) {
  if (!iso) return "";
  const delta = (new Date(iso).getTime() - Date.now()) / 1000;
  return delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
}

/** A status or outcome pill. */
export function pill(value) {
  return value ? h("span", { class: `pill s-${value}` }, value) : "—";
}
