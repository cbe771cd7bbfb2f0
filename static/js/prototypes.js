// Draws the Plotly figures the server prepared (data-figure holds the figure's JSON).
function drawCharts(root) {
  if (!window.Plotly) return;
  root.querySelectorAll(".plotly-chart[data-figure]").forEach((el) => {
    const figure = JSON.parse(el.dataset.figure);
    window.Plotly.newPlot(el, figure.data, figure.layout, { responsive: true, displaylogo: false });
    el.removeAttribute("data-figure");
  });
}
window.addEventListener("load", () => drawCharts(document));
document.addEventListener("htmx:afterSettle", (event) => drawCharts(event.target));

// Forms whose work takes a while (the model drafting cases) say so and cannot be sent twice.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const note = form.dataset ? form.dataset.busy : null;
  const button = form.querySelector("button[type=submit]");
  if (!note || !button) return;
  button.disabled = true;
  button.innerHTML = `<span class="spinner-border spinner-border-sm"></span> ${note}`;
});
