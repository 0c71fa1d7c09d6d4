// The supervisor's checklist, with htmx (static/htmx.min.js): a statement is confirmed or
// withdrawn in place, and this moves on to the next one. Without either script the forms post
// and the page comes back (POST/redirect/GET); this file only makes that faster on a phone.
// Loaded from this origin (the Content-Security-Policy allows no inline handler).
"use strict";

const live = () => document.getElementById("checklist-status");

// A message for the live region, read out by screen readers (and shown under the counter).
function announce(text, role) {
  const region = live();
  if (!region) return;
  const message = document.createElement("p");
  message.className = role === "alert" ? "error" : "done";
  message.setAttribute("role", role);
  message.textContent = text;
  region.replaceChildren(message);
}

// The last message goes as soon as the next action starts, so it never describes that one.
document.addEventListener("htmx:beforeRequest", () => live()?.replaceChildren());

// A form being filled in keeps what was typed: the fragment of another statement's action
// redraws the open forms with new defaults, but not this one.
document.addEventListener("input", (event) => {
  const form = event.target.closest?.("form.confirm");
  if (form) form.dataset.edited = "true";
});
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  if (event.detail.target.querySelector?.("form[data-edited]")) event.detail.shouldSwap = false;
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  // A redirect followed on the way (the session ended: the sign-in page came back): load the
  // page for real instead of drawing another page inside a statement.
  const requested = new URL(event.detail.pathInfo.requestPath, location.href).pathname;
  if (xhr.responseURL && new URL(xhr.responseURL).pathname !== requested) {
    event.detail.shouldSwap = false;
    location.reload();
    return;
  }
  // A refusal (409, 422, 404) comes as the statement with its error (role="alert"): draw it.
  // Other errors are JSON, never drawn (htmx:responseError below).
  const html = (xhr.getResponseHeader("content-type") || "").startsWith("text/html");
  if (xhr.status >= 400 && xhr.status < 500 && html) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

for (const failure of ["htmx:responseError", "htmx:sendError", "htmx:timeout"]) {
  document.addEventListener(failure, (event) => {
    const status = event.detail.xhr?.status;
    announce(
      `Not saved${status ? ` (the server answered ${status})` : " (no connection)"}: ` +
        "reload the page and try again.",
      "alert",
    );
  });
}

// After the swap, focus goes where the fragment says (`data-focus`: the next statement still
// to confirm, the summary once all are, or the error). Once htmx has settled the new items
// (given them their own classes, which change their height), that statement is scrolled to
// the top of the screen, so the next form is never further away than the last.
let arrived = null;
document.addEventListener("htmx:afterSwap", () => {
  const marked = document.querySelector("[data-focus]");
  if (!marked) return;
  arrived = document.getElementById(marked.dataset.focus);
  marked.removeAttribute("data-focus");
  arrived?.focus({ preventScroll: true });
});
document.addEventListener("htmx:afterSettle", () => {
  if (!arrived) return;
  (arrived.closest("li, section") || arrived).scrollIntoView({ block: "start", behavior: "instant" });
  arrived = null;
});
