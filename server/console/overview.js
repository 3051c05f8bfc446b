// The overview: every Shared Access Token, newest first, searchable, filtered by status,
// paged. Tokens that expire within 14 days stand out; "Expiring soon" shows just those.

import { ApiError, call } from "./api.js";
import {
  EXPIRING_SOON_DAYS,
  Pager,
  accessSummary,
  clone,
  expiresSoon,
  expiryText,
  fillBadge,
  lastUsedText,
  part,
  setText,
  showMessage,
} from "./view.js";

const PAGE_SIZE = 50;
const SEARCH_DELAY_MS = 250;

/** The variables of SharedAccessTokens for the page after `after` (null: the first). */
export function pageVariables(status, search, after) {
  const variables = { search: search.trim() || null, first: PAGE_SIZE };
  if (status === "EXPIRING") {
    variables.expiresWithinDays = EXPIRING_SOON_DAYS;
  } else {
    variables.status = status || null;
  }
  variables.after = after;
  return variables;
}

export function show(main, { params, navigate }) {
  const screen = clone("tpl-overview");
  const search = screen.querySelector("#overview-search");
  const status = screen.querySelector("#overview-status");
  const rows = part(screen, "rows");
  const table = part(screen, "table");
  const message = part(screen, "message");
  const count = part(screen, "count");
  const firstRun = part(screen, "first-run");
  const previous = part(screen, "previous");
  const next = part(screen, "next");
  const pager = new Pager();
  search.value = params.get("search") ?? "";
  status.value = params.get("status") ?? "";
  let latest = 0;
  let endCursor = null;

  async function load() {
    const ticket = ++latest;
    const filtered = Boolean(search.value.trim() || status.value);
    // The filters live in the address, so reload and Back keep them.
    const query = new URLSearchParams();
    if (search.value.trim()) query.set("search", search.value.trim());
    if (status.value) query.set("status", status.value);
    const text = query.toString();
    history.replaceState(null, "", text ? `#/?${text}` : "#/");
    let data;
    try {
      data = await call("SharedAccessTokens", pageVariables(status.value, search.value, pager.current));
    } catch (error) {
      if (!(error instanceof ApiError) || ticket !== latest) return;
      showMessage(message, error.message);
      return;
    }
    if (ticket !== latest) return;
    showMessage(message, "");
    const connection = data.sharedAccessTokens;
    const now = Date.now();
    rows.replaceChildren(...connection.nodes.map((token) => row(token, now)));
    const total = connection.totalCount;
    firstRun.hidden = total > 0 || filtered;
    table.hidden = total === 0;
    setText(count, total === 0 ? (filtered ? "No token matches." : "") : `${total} ${total === 1 ? "token" : "tokens"}`);
    endCursor = connection.pageInfo.endCursor;
    next.disabled = !connection.pageInfo.hasNextPage;
    previous.disabled = !pager.hasPrevious;
  }

  function restart() {
    pager.reset();
    load();
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(restart, SEARCH_DELAY_MS);
  });
  status.addEventListener("change", restart);
  part(screen, "filters").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    restart();
  });
  next.addEventListener("click", () => {
    pager.next(endCursor);
    load();
  });
  previous.addEventListener("click", () => {
    pager.previous();
    load();
  });
  part(screen, "new").addEventListener("click", () => navigate("#/new"));
  main.replaceChildren(screen);
  load();
}

function row(token, now) {
  const tr = clone("tpl-token-row");
  const link = part(tr, "name");
  link.href = `#/tokens/${encodeURIComponent(token.id)}`;
  setText(link, token.name);
  fillBadge(part(tr, "status"), token, now);
  setText(part(tr, "access"), accessSummary(token.grants));
  setText(part(tr, "expires"), expiryText(token, now));
  setText(part(tr, "last-used"), lastUsedText(token));
  setText(part(tr, "hint"), `…${token.tokenHint}`);
  if (expiresSoon(token, now)) tr.classList.add("soon");
  return tr;
}
