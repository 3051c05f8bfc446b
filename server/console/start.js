// The page's first requests, sent as soon as this small module graph has loaded rather
// than once the whole console has: who is logged in and, when the address shows the
// overview, its first page. The shell (app.js) takes both answers (api.js `prefetch`);
// if nobody is logged in, the shell shows the login and the refused page is dropped.

import { prefetch } from "./api.js";
import { parseHash, screenOf } from "./address.js";
import { pageVariables } from "./overview.js";

prefetch("Me");
const { path, params } = parseHash();
if (screenOf(path).name === "overview") {
  prefetch("SharedAccessTokens", pageVariables(params.get("status") ?? "", params.get("search") ?? "", null));
}
