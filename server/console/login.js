// The login screen. The answer's session token never reaches this script: the server
// keeps it in an HttpOnly cookie, and ConsoleLogin does not select it.

import { ApiError, call } from "./api.js";
import { clone, part, showMessage } from "./view.js";

function waitText(seconds) {
  const minutes = Math.ceil(seconds / 60);
  return minutes <= 1 ? "about a minute" : `about ${minutes} minutes`;
}

/** Render the login form; `onLoggedIn(admin)` runs after a successful login. */
export function show(main, { notice = "", onLoggedIn }) {
  const screen = clone("tpl-login");
  const form = part(screen, "form");
  const message = part(screen, "message");
  showMessage(message, notice);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showMessage(message, "");
    try {
      const data = await call(
        "ConsoleLogin",
        { username: form.username.value, password: form.password.value },
        { authenticated: false },
      );
      form.password.value = "";
      onLoggedIn(data.login.admin, data.login.expiresAt);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const limited = error.errors.find((e) => e.extensions?.code === "RATE_LIMITED");
      if (limited) {
        const wait = limited.extensions.retryAfterSeconds;
        showMessage(message, wait ? `${limited.message} (wait ${waitText(wait)}).` : limited.message);
      } else {
        showMessage(message, error.message);
      }
      form.password.value = "";
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(screen);
  form.username.focus();
}
