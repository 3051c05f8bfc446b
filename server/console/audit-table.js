// A paged table of audit events, newest first: the Audit log and a token's trail.

import { ApiError, call } from "./api.js";
import { Pager, clone, formatDateTime, part, setText } from "./view.js";

function detailText(detail) {
  if (!detail) return "";
  try {
    return JSON.stringify(JSON.parse(detail));
  } catch {
    return detail;
  }
}

export class AuditTable {
  constructor(container, { sharedAccessTokenId = null, pageSize = 50, onError }) {
    this.root = clone("tpl-audit-table");
    this.rows = part(this.root, "rows");
    this.count = part(this.root, "count");
    this.previous = part(this.root, "previous");
    this.next = part(this.root, "next");
    this.tokenId = sharedAccessTokenId;
    this.pageSize = pageSize;
    this.onError = onError;
    this.pager = new Pager();
    this.endCursor = null;
    this.next.addEventListener("click", () => {
      this.pager.next(this.endCursor);
      this.load();
    });
    this.previous.addEventListener("click", () => {
      this.pager.previous();
      this.load();
    });
    container.replaceChildren(this.root);
  }

  async load() {
    let data;
    try {
      data = await call("AuditEvents", {
        sharedAccessTokenId: this.tokenId,
        first: this.pageSize,
        after: this.pager.current,
      });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.onError(error.message);
      return;
    }
    const events = data.auditEvents;
    this.rows.replaceChildren(...events.nodes.map((event) => this.row(event)));
    const total = events.totalCount;
    setText(this.count, total === 0 ? "No events." : `${total} ${total === 1 ? "event" : "events"}`);
    this.endCursor = events.pageInfo.endCursor;
    this.next.disabled = !events.pageInfo.hasNextPage;
    this.previous.disabled = !this.pager.hasPrevious;
  }

  row(event) {
    const tr = clone("tpl-audit-row");
    const at = part(tr, "at");
    at.dateTime = event.at;
    setText(at, formatDateTime(event.at));
    setText(part(tr, "action"), event.action);
    setText(part(tr, "actor"), event.actor);
    if (event.sharedAccessTokenId) {
      const link = document.createElement("a");
      link.href = `#/tokens/${encodeURIComponent(event.sharedAccessTokenId)}`;
      link.textContent = `#${event.sharedAccessTokenId}`;
      part(tr, "token").append(link);
    }
    setText(part(tr, "ip"), event.ip);
    setText(part(tr, "detail"), detailText(event.detail));
    return tr;
  }
}
