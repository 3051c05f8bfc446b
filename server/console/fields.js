// Field errors, the browser's way: setCustomValidity() for the message, aria-invalid and
// aria-describedby pointing at a visible message next to the field. The server's words win.

/** Mark `input` invalid with `message` shown next to it; clear with an empty message. */
export function setFieldError(input, message) {
  const id = `${input.id}-error`;
  let note = document.getElementById(id);
  if (!note) {
    note = document.createElement("p");
    note.id = id;
    note.className = "field-error";
    (input.closest(".field") ?? input.parentElement).append(note);
  }
  note.textContent = message;
  note.hidden = !message;
  input.setCustomValidity(message);
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
  } else {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
}

/** Forget a server error as soon as the admin edits the field again. */
export function clearOnInput(input, check = () => "") {
  input.addEventListener("input", () => setFieldError(input, check(input.value)));
}

/**
 * Put each error of an ApiError next to its field (`extensions.field`, found by
 * `inputFor`); the rest go to `message`. Returns the first field marked, to focus it.
 */
export function showServerErrors(error, { inputFor, message, show }) {
  let first = null;
  const general = [];
  for (const e of error.errors) {
    const field = e.extensions?.field;
    const input = field ? inputFor(field) : null;
    if (input) {
      setFieldError(input, e.message);
      first ??= input;
    } else {
      general.push(e.message);
    }
  }
  show(message, general.join(" "));
  return first;
}
