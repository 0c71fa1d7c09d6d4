// Progressive enhancements; every page works without them. Loaded from this origin only, as
// the Content-Security-Policy requires: no inline handlers anywhere.
"use strict";

// Copy buttons: <button data-copy="input-id">.
for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", () => {
    navigator.clipboard.writeText(document.getElementById(button.dataset.copy).value);
    button.textContent = "Copied";
  });
}

// Print buttons: <button data-print>.
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}

// A form that takes a while (a CSV of thousands of rows): <form data-progress="element-id">.
for (const form of document.querySelectorAll("form[data-progress]")) {
  form.addEventListener("submit", () => {
    document.getElementById(form.dataset.progress).hidden = false;
  });
}

// The verify form: drop a file anywhere on it, or open a link ending in #vc=<credential>
// (the fragment never reaches a server log).
const verifyForm = document.getElementById("verify-form");
if (verifyForm) {
  verifyForm.addEventListener("dragover", (event) => event.preventDefault());
  verifyForm.addEventListener("drop", (event) => {
    event.preventDefault();
    if (event.dataTransfer.files.length) {
      document.getElementById("file").files = event.dataTransfer.files;
      verifyForm.submit();
    }
  });
  const fragment = new URLSearchParams(location.hash.slice(1)).get("vc");
  if (fragment) {
    document.getElementById("credential").value = fragment;
    verifyForm.submit();
  }
}
