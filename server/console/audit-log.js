// The Audit log: every event, newest first, paged; filtered by token id.

import { AuditTable } from "./audit-table.js";
import { clone, part, setText, showMessage } from "./view.js";

export function show(main, { params, navigate }) {
  const screen = clone("tpl-audit");
  const form = part(screen, "filters");
  const field = screen.querySelector("#audit-token");
  const message = part(screen, "message");
  const token = (params.get("token") ?? "").trim();
  field.value = token;
  setText(part(screen, "filter-note"), token ? `Showing only the events of token #${token}.` : "");
  const table = new AuditTable(part(screen, "audit"), {
    sharedAccessTokenId: token || null,
    onError: (text) => showMessage(message, text),
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = field.value.trim();
    navigate(id ? `#/audit?token=${encodeURIComponent(id)}` : "#/audit");
  });
  part(screen, "clear").addEventListener("click", () => navigate("#/audit"));
  main.replaceChildren(screen);
  table.load();
}
