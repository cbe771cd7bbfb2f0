// Upload progress for the knowledge-base upload form: htmx reports XHR upload progress as htmx:xhr:progress.
document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.target.closest ? event.target.closest("#upload-form") : null;
  if (!form || !event.detail.lengthComputable) return;
  const wrapper = document.getElementById("upload-progress");
  const bar = wrapper.querySelector(".progress-bar");
  const percent = Math.round((event.detail.loaded / event.detail.total) * 100);
  wrapper.classList.remove("d-none");
  bar.style.width = `${percent}%`;
  bar.textContent = percent < 100 ? `Uploading… ${percent}%` : "Uploaded; queued for ingestion";
});
document.addEventListener("htmx:afterRequest", (event) => {
  if (event.target.id === "upload-form" && event.detail.successful) event.target.reset();
});
