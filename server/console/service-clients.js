// Service clients: the services that ask SAT about tokens. Create (the secret shown
// once), list, revoke.

import { ApiError, call } from "./api.js";
import { confirmAction, showOnce } from "./dialogs.js";
import { clearOnInput, showServerErrors } from "./fields.js";
import { announce, clone, formatDateTime, part, setText, showMessage } from "./view.js";

export function show(main) {
  const screen = clone("tpl-service-clients");
  const form = part(screen, "form");
  const name = screen.querySelector("#client-name");
  const message = part(screen, "message");
  const listMessage = part(screen, "list-message");
  const rows = part(screen, "rows");
  const table = part(screen, "table");
  const firstRun = part(screen, "first-run");
  const opener = part(screen, "new");
  clearOnInput(name);

  async function load() {
    let data;
    try {
      data = await call("ServiceClients");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showMessage(listMessage, error.message);
      return;
    }
    const clients = [...data.serviceClients].reverse();
    rows.replaceChildren(...clients.map(row));
    table.hidden = clients.length === 0;
    firstRun.hidden = clients.length > 0;
  }

  function row(client) {
    const tr = clone("tpl-client-row");
    const nameCell = part(tr, "name");
    nameCell.id = `client-${client.id}-name`;
    setText(nameCell, client.name);
    setText(part(tr, "created"), formatDateTime(client.createdAt));
    const badge = part(tr, "status");
    badge.textContent = client.revokedAt ? `Revoked ${formatDateTime(client.revokedAt)}` : "Active";
    badge.className = `badge ${client.revokedAt ? "revoked" : "active"}`;
    const revoke = part(tr, "revoke");
    // The name stays "Revoke"; the description says which client it revokes.
    revoke.setAttribute("aria-describedby", nameCell.id);
    revoke.hidden = Boolean(client.revokedAt);
    revoke.addEventListener("click", async () => {
      const done = await confirmAction({
        title: `Revoke service client “${client.name}”?`,
        text: "Its secret stops working at once; the service can no longer ask SAT about tokens.",
        confirmLabel: "Revoke",
        action: async () => (await call("RevokeServiceClient", { id: client.id })).revokeServiceClient,
      });
      if (!done) return;
      announce(`Service client ${done.name} revoked`);
      await load();
      opener.focus();
    });
    return tr;
  }

  opener.addEventListener("click", () => {
    form.hidden = false;
    name.focus();
  });
  part(form, "cancel").addEventListener("click", () => {
    form.hidden = true;
    form.reset();
    opener.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(message, "");
    try {
      const data = await call("CreateServiceClient", { name: name.value });
      const issued = data.createServiceClient;
      form.reset();
      form.hidden = true;
      await load();
      await showOnce({
        title: `Service client “${issued.serviceClient.name}” is ready: copy its secret now`,
        secrets: [{ label: "Secret", value: issued.secret }],
        closeLabel: "I have copied it",
      });
      opener.focus();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const first = showServerErrors(error, {
        inputFor: (field) => (field === "name" ? name : null),
        message,
        show: showMessage,
      });
      (first ?? name).focus();
    }
  });
  main.replaceChildren(screen);
  load();
}
