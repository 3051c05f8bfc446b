// Modal dialogs with <dialog>.showModal(): the browser keeps focus inside while open and
// returns it to the opener on close.

import { ApiError } from "./api.js";
import { clone, formatDateTime, part, setText, showMessage } from "./view.js";

function guardUnload(event) {
  event.preventDefault();
  // Older browsers ask only when returnValue is set.
  event.returnValue = "";
}

let copyCount = 0;

async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // Without clipboard permission, leave the text selected for Ctrl+C.
    input.select();
    return false;
  }
  return true;
}

/**
 * Show secrets once. The dialog closes only through its button ("I have copied them"),
 * and leaving the page while it is open asks first. Resolves when it is closed.
 */
export function showOnce({ title, secrets, expiresAt, closeLabel = "I have copied them" }) {
  const dialog = clone("tpl-shown-once");
  setText(part(dialog, "title"), title);
  const list = part(dialog, "secrets");
  const copied = part(dialog, "copied");
  for (const secret of secrets) {
    const row = clone("tpl-secret");
    const id = `secret-${++copyCount}`;
    const label = part(row, "label");
    const input = part(row, "value");
    label.htmlFor = id;
    setText(label, secret.label);
    input.id = id;
    input.value = secret.value;
    const button = part(row, "copy");
    button.setAttribute("aria-describedby", id);
    button.addEventListener("click", async () => {
      const done = await copy(input);
      setText(copied, done ? `${secret.label} copied` : `${secret.label} selected: press Ctrl+C to copy`);
      button.classList.toggle("done", done);
    });
    list.append(row);
  }
  setText(part(dialog, "expires"), expiresAt ? `The access token expires ${formatDateTime(expiresAt)}.` : "");
  const close = part(dialog, "close");
  setText(close, closeLabel);
  document.body.append(dialog);
  window.addEventListener("beforeunload", guardUnload);
  // Escape must not throw the secrets away: closing is the button's job alone.
  dialog.addEventListener("cancel", (event) => event.preventDefault());
  return new Promise((resolve) => {
    close.addEventListener("click", () => {
      window.removeEventListener("beforeunload", guardUnload);
      for (const input of dialog.querySelectorAll("input")) input.value = "";
      dialog.close();
      dialog.remove();
      resolve();
    });
    dialog.showModal();
  });
}

/**
 * Ask before doing something that cannot be undone. The confirming button carries the
 * same name as the one that opened the dialog. `action` runs on confirmation; its
 * ApiError stays in the dialog. Resolves with the action's result, or null if cancelled.
 */
export function confirmAction({ title, text, confirmLabel, extra = null, action }) {
  const dialog = clone("tpl-confirm");
  setText(part(dialog, "title"), title);
  setText(part(dialog, "text"), text);
  const confirm = part(dialog, "confirm");
  setText(confirm, confirmLabel);
  if (extra) part(dialog, "extra").append(extra);
  const message = part(dialog, "message");
  document.body.append(dialog);
  return new Promise((resolve) => {
    let result = null;
    const finish = () => {
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    part(dialog, "cancel").addEventListener("click", finish);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish();
    });
    part(dialog, "form").addEventListener("submit", async (event) => {
      event.preventDefault();
      confirm.disabled = true;
      try {
        result = await action();
        finish();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        showMessage(message, error.message);
        confirm.disabled = false;
      }
    });
    dialog.showModal();
    // Start on the safe choice.
    part(dialog, "cancel").focus();
  });
}
