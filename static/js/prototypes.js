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

