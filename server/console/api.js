// The API client: every request of the console goes through `call`, with a document
// from graphql/operations/ (fetched once, by operation name) and the session cookie.

const documents = new Map();
const sessionEndedListeners = new Set();

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

/** The `data` of operation `name`; an ApiError when the server reports errors. */
export async function call(name, variables = {}, { authenticated = true } = {}) {
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
