// Small glue between htmx and Bootstrap; everything else is server-rendered.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const box = document.getElementById("messages") || document.querySelector("main");
  const alert = document.createElement("div");
  alert.className = "alert alert-danger";
  alert.setAttribute("role", "alert");
  alert.textContent = status === 403 || status === 404
    ? "That item is not available to your account."
    : `The server could not complete the request (HTTP ${status}). Try again, or reload the page.`;
  box.prepend(alert);
});
