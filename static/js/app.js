// Small glue between htmx and Bootstrap; everything else is server-rendered. The site's Content-Security-Policy
// allows no inline handlers, so behaviour hangs off data attributes here.
document.addEventListener("htmx:responseError", (event) => {
  const xhr = event.detail.xhr;
  const box = document.getElementById("messages") || document.querySelector("main");
  const alert = document.createElement("div");
  alert.className = "alert alert-danger";
  alert.setAttribute("role", "alert");
  const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain");
  if (plain && xhr.status < 500 && xhr.responseText) {
    alert.textContent = xhr.responseText; // the server's own words: what was refused and what to do
  } else {
    alert.textContent = xhr.status === 403 || xhr.status === 404
      ? "That item is not available to your account."
      : `The server could not complete the request (HTTP ${xhr.status}). Try again, or reload the page.`;
  }
  box.prepend(alert);
});

// <button data-confirm="Archive this engagement?">: ask before the form is sent.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});

// <select data-autosubmit>: filters apply as soon as they change.
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]")) event.target.form.requestSubmit();
});

// <form data-reset-on-success>: clear an htmx form once the server accepted it.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.target;
  if (form.matches && form.matches("form[data-reset-on-success]") && event.detail.successful) form.reset();
});

// <div hx-trigger="every 20s" data-pause-while-editing>: skip a refresh while someone types in it (an htmx trigger
// filter would do this too, but filters are evaluated script, which the CSP forbids).
document.addEventListener("htmx:beforeRequest", (event) => {
  const element = event.detail.elt;
  const editing = ":is(textarea, input[type=text], select):focus";
  if (element.matches("[data-pause-while-editing]") && element.querySelector(editing)) event.preventDefault();
});

// <button data-conversation-reset> in the ask form: the next question starts a new conversation.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-conversation-reset]");
  if (!button) return;
  const state = button.closest(".conversation-state");
  state.querySelector("input[name=conversation]").value = "";
  state.dataset.turns = "0";
  for (const node of [...state.childNodes]) if (node.nodeName !== "INPUT") node.remove();
  state.append("Your next question starts a new conversation.");
});
