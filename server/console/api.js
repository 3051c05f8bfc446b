// The API client: every request of the console goes through `call`, with a document
// from graphql/operations/ (fetched once, by operation name) and the session cookie.

const documents = new Map();
const sessionEndedListeners = new Set();
// The opening requests' answers (see `prefetch`), by request: start.js adds at most two,
// and the shell empties it once the first screen has taken its own.
const early = new Map();

/** A GraphQL answer with errors; `errors` as the server sent them. */
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("; "));
    this.errors = errors;
  }

  get codes() {
    return this.errors.map((e) => e.extensions?.code);
  }

  has(code) {
    return this.codes.includes(code);
  }
}

/** Run `fn` whenever a request finds the session gone (expired, or ended elsewhere). */
export function onSessionEnded(fn) {
  sessionEndedListeners.add(fn);
}

function documentFor(name) {
  if (!documents.has(name)) {
    const loading = fetch(`/console/operations/${encodeURIComponent(name)}.graphql`, {
      credentials: "same-origin",
    }).then((response) => {
      if (!response.ok) throw new Error(`operation ${name} is not served (${response.status})`);
      return response.text();
    });
    loading.catch(() => documents.delete(name));
    documents.set(name, loading);
  }
  return documents.get(name);
}

function requestKey(name, variables) {
  return `${name} ${JSON.stringify(variables)}`;
}

/**
 * Send `name` with `variables` now, while the screen that needs the answer still loads;
 * that screen's `call` with the same name and variables takes the answer, once.
 * A prefetched request never reports the session as ended: the taker decides.
 */
export function prefetch(name, variables = {}) {
  const key = requestKey(name, variables);
  if (!early.has(key)) {
    const answer = send(name, variables, false);
    answer.catch(() => {}); // the taker sees the error (and asks again)
    early.set(key, answer);
  }
}

/** Forget the prefetched answers no screen took: from now on every call asks the server. */
export function dropPrefetched() {
  early.clear();
}

/** The `data` of operation `name`; an ApiError when the server reports errors. */
export async function call(name, variables = {}, { authenticated = true } = {}) {
  const key = requestKey(name, variables);
  const answer = early.get(key);
  if (answer) {
    early.delete(key);
    try {
      return await answer;
    } catch {
      // Refused or failed ahead of time (e.g. before login): ask again, as if never sent.
    }
  }
  return send(name, variables, authenticated);
}

async function send(name, variables, authenticated) {
  const query = await documentFor(name);
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ query, variables, operationName: name }),
    });
  } catch {
    throw new ApiError([{ message: "SAT cannot be reached. Check the connection and try again.", extensions: { code: "NETWORK" } }]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError([{ message: `SAT answered with HTTP ${response.status}.`, extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
  }
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const error = new ApiError(body.errors);
    if (authenticated && error.has("UNAUTHENTICATED")) {
      for (const fn of sessionEndedListeners) fn();
    }
    throw error;
  }
  return body.data;
}
