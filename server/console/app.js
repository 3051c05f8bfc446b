// The console's shell: who is logged in (the only state kept), the navigation, and which
// screen the address (#/...) shows. The session itself lives in an HttpOnly cookie.

import { parseHash, screenOf } from "./address.js";
import { ApiError, call, dropPrefetched, onSessionEnded } from "./api.js";
import * as auditLog from "./audit-log.js";
import * as login from "./login.js";
import * as newToken from "./new-token.js";
import * as overview from "./overview.js";
import * as serviceClients from "./service-clients.js";
import * as token from "./token.js";
import { dateTimeFormat, setText } from "./view.js";

const main = document.getElementById("main");
const bar = document.getElementById("bar");
const whoami = document.getElementById("whoami");

let admin = null;
let expiryTimer = null;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function markNav(name) {
  for (const link of bar.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  if (!admin) return;
  const { path, params } = parseHash();
  document.title = "Shared Access Tokens";
  const screen = screenOf(path);
  if (screen.name === "token") {
    markNav("overview");
    await token.show(main, { id: decodeURIComponent(screen.id), navigate });
  } else if (screen.name === "new") {
    markNav("overview");
    newToken.show(main, { navigate });
  } else if (screen.name === "service-clients") {
    markNav("service-clients");
    serviceClients.show(main, { navigate });
  } else if (screen.name === "audit") {
    markNav("audit");
    auditLog.show(main, { params, navigate });
  } else {
    markNav("overview");
    overview.show(main, { params, navigate });
  }
  // Land on the new screen's heading, as a page load would.
  main.querySelector("h1")?.focus();
}

function loggedIn(who, expiresAt) {
  admin = who.username;
  setText(whoami, admin);
  bar.hidden = false;
  clearTimeout(expiryTimer);
  if (expiresAt) {
    // Say so when the session runs out, rather than at the next click.
    const left = new Date(expiresAt).getTime() - Date.now();
    if (left > 0 && left < 2 ** 31) expiryTimer = setTimeout(() => checkSession(), left + 1000);
  }
  route();
}

function loggedOut(notice) {
  admin = null;
  clearTimeout(expiryTimer);
  bar.hidden = true;
  document.title = "Log in · Shared Access Tokens";
  for (const dialog of document.querySelectorAll("dialog.confirm")) dialog.remove();
  login.show(main, { notice, onLoggedIn: loggedIn });
}

async function checkSession() {
  try {
    const data = await call("Me", {}, { authenticated: false });
    if (!data.me) loggedOut("Your session has expired. Log in again.");
  } catch {
    // Unreachable now; the next request will tell.
  }
}

onSessionEnded(() => {
  if (admin) loggedOut("Your session has expired. Log in again.");
});

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await call("Logout");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  loggedOut("You have logged out.");
});

window.addEventListener("hashchange", route);

async function start() {
  let data;
  try {
    data = await call("Me", {}, { authenticated: false });
  } catch (error) {
    dropPrefetched();
    main.replaceChildren();
    const p = document.createElement("p");
    p.className = "alert";
    p.setAttribute("role", "alert");
    p.textContent = error.message;
    main.append(p);
    return;
  }
  if (data.me) loggedIn(data.me, null);
  else loggedOut("");
  // The first screen has taken (synchronously, in its first call) what start.js asked
  // for ahead of it; anything else is dropped, so later screens always ask anew.
  dropPrefetched();
}

start();
// While the first answers are on their way (once the page is idle, so that the requests
// leave first): the locale's date data loads then (tens of ms on first use), not when
// the first row is drawn.
requestIdleCallback(() => dateTimeFormat());
