// The token page: its facts, grants and IP ranges edited in place, Roll and Revoke (each
// confirmed), and its audit trail.

import { AccessTree } from "./access-tree.js";
import { ApiError, call } from "./api.js";
import { AuditTable } from "./audit-table.js";
import { confirmAction, showOnce } from "./dialogs.js";
import { clearOnInput, showServerErrors } from "./fields.js";
import { IpRangeList } from "./ip-ranges.js";
import {
  announce,
  clone,
  expiryText,
  fillBadge,
  formatDateTime,
  lastUsedText,
  part,
  plural,
  setText,
  showMessage,
} from "./view.js";

const MAX_GRACE_SECONDS = 86400;

export async function show(main, { id }) {
  const screen = clone("tpl-token");
  const message = part(screen, "message");
  const tree = new AccessTree(part(screen, "tree"), { idPrefix: "token" });
  const ranges = new IpRangeList(part(screen, "ranges"), { idPrefix: "token" });
  const accessMessage = part(screen, "access-message");
  const detailsForm = part(screen, "details-form");
  const detailsMessage = part(screen, "details-message");
  const nameField = screen.querySelector("#token-name");
  const lifetimeField = screen.querySelector("#token-lifetime");
  const graceField = screen.querySelector("#token-grace");
  clearOnInput(nameField);
  clearOnInput(graceField);
  const rangesMessage = part(screen, "ranges-message");
  const trail = new AuditTable(part(screen, "audit"), {
    sharedAccessTokenId: id,
    pageSize: 20,
    onError: (text) => showMessage(message, text),
  });
  const auditLink = part(screen, "audit-link");
  auditLink.href = `#/audit?token=${encodeURIComponent(id)}`;
  let token = null;

  function fill(view) {
    token = view;
    const now = Date.now();
    setText(part(screen, "name"), view.name);
    document.title = `${view.name} · Shared Access Tokens`;
    fillBadge(part(screen, "status"), view, now);
    setText(part(screen, "expires"), expiryText(view, now));
    setText(part(screen, "lifetime"), `${view.expiresInDays} ${plural(view.expiresInDays, "day")} per access token`);
    setText(part(screen, "grace"), `${view.refreshGraceSeconds} ${plural(view.refreshGraceSeconds, "second")}`);
    setText(part(screen, "last-used"), lastUsedText(view));
    setText(part(screen, "hint"), `…${view.tokenHint}`);
    setText(part(screen, "created"), `${formatDateTime(view.createdAt)} by ${view.createdBy}`);
    const revoked = view.status === "REVOKED";
    part(screen, "actions").hidden = revoked;
    for (const button of screen.querySelectorAll("[data-save-access], [data-save-ranges], [data-add]")) {
      button.disabled = revoked;
    }
    nameField.value = view.name;
    const lifetime = String(view.expiresInDays);
    if (![...lifetimeField.options].some((o) => o.value === lifetime)) {
      lifetimeField.add(new Option(`${lifetime} ${plural(view.expiresInDays, "day")}`, lifetime));
    }
    lifetimeField.value = lifetime;
    graceField.value = String(view.refreshGraceSeconds);
    for (const control of detailsForm.elements) control.disabled = revoked;
    tree.setGrants(view.grants);
    tree.setReadOnly(revoked);
    ranges.setRanges(view.ipRanges);
  }

  async function reload() {
    const data = await call("SharedAccessToken", { id });
    return data.sharedAccessToken;
  }

  let view;
  try {
    [view] = await Promise.all([reload(), tree.load()]);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showMessage(message, error.message);
    main.replaceChildren(screen);
    return;
  }
  if (!view) {
    main.replaceChildren(screen);
    setText(part(screen, "name"), "No such Shared Access Token");
    part(screen, "actions").hidden = true;
    for (const form of screen.querySelectorAll("form")) form.hidden = true;
    return;
  }
  fill(view);

  detailsForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(detailsMessage, "");
    // Only what changed: each field given is audited with its old and new value.
    const input = {};
    if (nameField.value !== token.name) input.name = nameField.value;
    if (Number(lifetimeField.value) !== token.expiresInDays) input.expiresInDays = Number(lifetimeField.value);
    if (Number(graceField.value) !== token.refreshGraceSeconds) input.refreshGraceSeconds = Number(graceField.value);
    if (Object.keys(input).length === 0) {
      showMessage(detailsMessage, "Nothing changed.");
      return;
    }
    try {
      const data = await call("UpdateSharedAccessToken", { id, input });
      fill(data.updateSharedAccessToken);
      announce("Details saved");
      trail.load();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const fields = { name: nameField, expiresInDays: lifetimeField, refreshGraceSeconds: graceField };
      const first = showServerErrors(error, {
        inputFor: (field) => fields[field] ?? null,
        message: detailsMessage,
        show: showMessage,
      });
      first?.focus();
    }
  });

  part(screen, "access-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(accessMessage, "");
    const changes = tree.changes();
    if (changes.length === 0) {
      showMessage(accessMessage, "Nothing changed.");
      return;
    }
    try {
      const data = await call("Grant", { id, grants: changes });
      fill(data.grant);
      announce("Access saved");
      trail.load();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      showMessage(accessMessage, error.message);
    }
  });

  part(screen, "ranges-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showMessage(rangesMessage, "");
    try {
      const data = await call("Restrict", { id, ipRanges: ranges.ranges() });
      fill(data.restrict);
      announce("IP ranges saved");
      trail.load();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const first = showServerErrors(error, {
        inputFor: (field) => ranges.inputFor(field),
        message: rangesMessage,
        show: showMessage,
      });
      first?.focus();
    }
  });

  part(screen, "roll").addEventListener("click", async () => {
    const extra = clone("tpl-grace-field");
    const grace = extra.querySelector("input");
    grace.max = String(MAX_GRACE_SECONDS);
    const issued = await confirmAction({
      title: `Roll “${token.name}”?`,
      text:
        "A new access token and refresh key are issued and shown once. Every earlier refresh key " +
        "stops working at once; the current access token keeps working only for the grace period.",
      confirmLabel: "Roll",
      extra,
      action: async () => {
        const data = await call("RollSharedAccessToken", { id, graceSeconds: Number(grace.value || 0) });
        return data.rollSharedAccessToken;
      },
    });
    if (!issued) return;
    await showOnce({
      title: `“${issued.sharedAccessToken.name}” was rolled: copy its new credentials now`,
      secrets: [
        { label: "Access token", value: issued.accessToken },
        { label: "Refresh key", value: issued.refreshKey },
      ],
      expiresAt: issued.expiresAt,
    });
    const rolled = await reload();
    if (rolled) fill(rolled);
    trail.load();
  });

  part(screen, "revoke").addEventListener("click", async () => {
    const revoked = await confirmAction({
      title: `Revoke “${token.name}”?`,
      text: "Its access token and refresh key stop working at once, everywhere. This cannot be undone.",
      confirmLabel: "Revoke",
      action: async () => (await call("RevokeSharedAccessToken", { id })).revokeSharedAccessToken,
    });
    if (!revoked) return;
    fill(revoked);
    announce("Token revoked");
    part(screen, "name").focus();
    trail.load();
  });

  main.replaceChildren(screen);
  trail.load();
}
