// What the address (#/...) names: a screen and its parameters. The shell (app.js) shows
// that screen; start.js asks for its first data before the shell has loaded.

export function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/", params: new URLSearchParams(query) };
}

/** The screen `path` shows: `token` (with its id, still URI-encoded), `new`, `service-clients`, `audit` or `overview`. */
export function screenOf(path) {
  const tokenMatch = /^\/tokens\/([^/]+)$/.exec(path);
  if (tokenMatch) return { name: "token", id: tokenMatch[1] };
  if (path === "/new") return { name: "new" };
  if (path === "/service-clients") return { name: "service-clients" };
  if (path === "/audit") return { name: "audit" };
  return { name: "overview" };
}
