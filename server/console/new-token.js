// New Shared Access Token: title, expiration, the access tree and IP ranges, Generate;
// then the access token and refresh key, shown once.

import { AccessTree } from "./access-tree.js";
import { ApiError, call } from "./api.js";
import { showOnce } from "./dialogs.js";
import { clearOnInput, setFieldError, showServerErrors } from "./fields.js";
import { IpRangeList } from "./ip-ranges.js";
import { clone, part, showMessage } from "./view.js";

export function show(main, { navigate }) {
  const screen = clone("tpl-new-token");
  const form = part(screen, "form");
  const title = screen.querySelector("#new-title");
  const expiration = screen.querySelector("#new-expiration");
  const message = part(screen, "message");
  const tree = new AccessTree(part(screen, "tree"), { idPrefix: "new" });
  const ranges = new IpRangeList(part(screen, "ranges"), { idPrefix: "new" });
  clearOnInput(title);
  expiration.addEventListener("change", () => setFieldError(expiration, ""));
  const loading = tree.load().catch((error) => {
    if (error instanceof ApiError) showMessage(message, error.message);
  });

  const inputFor = (field) => {
    if (field === "name") return title;
    if (field === "expiresInDays") return expiration;
    return ranges.inputFor(field);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await loading;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    showMessage(message, "");
    try {
      const data = await call("CreateSharedAccessToken", {
        input: {
          name: title.value,
          expiresInDays: Number(expiration.value),
          grants: tree.grants(),
          ipRanges: ranges.ranges(),
        },
      });
      const issued = data.createSharedAccessToken;
      await showOnce({
        title: `“${issued.sharedAccessToken.name}” is ready: copy its credentials now`,
        secrets: [
          { label: "Access token", value: issued.accessToken },
          { label: "Refresh key", value: issued.refreshKey },
        ],
        expiresAt: issued.expiresAt,
      });
      navigate(`#/tokens/${encodeURIComponent(issued.sharedAccessToken.id)}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // Errors about grants or the list of ranges as a whole go to the form's message.
      const first = showServerErrors(error, { inputFor, message, show: showMessage });
      (first ?? title).focus();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(screen);
}
