// Building screens from the page's <template>s. Server strings only ever go in through
// textContent (or an input's value), so a hostile name stays text.

export const EXPIRING_SOON_DAYS = 14;
const DAY_MS = 24 * 60 * 60 * 1000;

/** A fresh copy of the first element of <template id="...">. */
export function clone(templateId) {
  return document.getElementById(templateId).content.firstElementChild.cloneNode(true);
}

/** The element marked `data-NAME` inside `root`. */
export function part(root, name) {
  return root.querySelector(`[data-${name}]`);
}

export function setText(element, text) {
  element.textContent = text ?? "";
}

/** Show `text` in a message element (role=alert), or hide it when `text` is empty. */
export function showMessage(element, text) {
  element.textContent = text ?? "";
  element.hidden = !text;
}

/** Say something to screen readers without moving focus. */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  // A changed text is announced again even when it is the same sentence as before.
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}

// One formatter for every date shown: toLocaleString with options builds a new one on
// each call, which cost about 0.3 ms a date (two per overview row). Made at the first
// date, not when this module loads: the first one loads the locale's data (tens of ms),
// which must not hold back start.js's requests.
let dateTime = null;

/** The formatter of every date shown, made on first use. */
export function dateTimeFormat() {
  dateTime ??= new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  return dateTime;
}

export function formatDateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "Invalid Date" : dateTimeFormat().format(date);
}

/** Whole days from now until `iso` (negative once past), rounded up. */
export function daysLeft(iso, now = Date.now()) {
  return Math.ceil((new Date(iso).getTime() - now) / DAY_MS);
}

export function expiresSoon(token, now = Date.now()) {
  return token.status === "ACTIVE" && daysLeft(token.expiresAt, now) <= EXPIRING_SOON_DAYS;
}

export function expiryText(token, now = Date.now()) {
  if (token.status === "REVOKED") return `Revoked ${formatDateTime(token.revokedAt)}`;
  const days = daysLeft(token.expiresAt, now);
  const when = formatDateTime(token.expiresAt);
  if (days < 0) return `${when} (expired ${-days} ${plural(-days, "day")} ago)`;
  if (days === 0) return `${when} (today)`;
  return `${when} (${days} ${plural(days, "day")} left)`;
}

export function lastUsedText(token) {
  if (!token.lastUsedAt) return "Never";
  const from = token.lastUsedIp ? ` from ${token.lastUsedIp}` : "";
  return `${formatDateTime(token.lastUsedAt)}${from}`;
}

export function statusLabel(token, now = Date.now()) {
  if (expiresSoon(token, now)) return "Expires soon";
  return { ACTIVE: "Active", EXPIRED: "Expired", REVOKED: "Revoked" }[token.status] ?? token.status;
}

/** A status badge: its text and a class for its colour. */
export function fillBadge(element, token, now = Date.now()) {
  element.textContent = statusLabel(token, now);
  element.className = `badge ${expiresSoon(token, now) ? "soon" : token.status.toLowerCase()}`;
}

/** "Payroll: read, write; Employees › Contracts: read", or "No access". */
export function accessSummary(grants) {
  if (!grants.length) return "No access";
  return grants
    .map((g) => {
      const where = g.folder ? `${g.area.name} › ${g.folder.name}` : g.area.name;
      const levels = [g.read && "read", g.write && "write", g.delete && "delete"].filter(Boolean);
      return `${where}: ${levels.join(", ")}`;
    })
    .join("; ");
}

export function plural(count, word) {
  return count === 1 ? word : `${word}s`;
}

/** Turn a list of cursors into Previous/Next paging for a connection. */
export class Pager {
  constructor() {
    this.cursors = [null];
  }

  get current() {
    return this.cursors[this.cursors.length - 1];
  }

  get hasPrevious() {
    return this.cursors.length > 1;
  }

  next(endCursor) {
    this.cursors.push(endCursor);
  }

  previous() {
    if (this.hasPrevious) this.cursors.pop();
  }

  reset() {
    this.cursors = [null];
  }
}
