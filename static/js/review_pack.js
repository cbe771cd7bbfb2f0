// Draws a gate review pack's charts (data-figure holds Plotly figure JSON) and marks the page ready once every
// chart is drawn: the worker's headless Chromium waits for that mark before it prints the page to PDF.
(function () {
  function draw(root) {
    const printing = document.body.dataset.print === "yes";
    const charts = Array.from(root.querySelectorAll(".pack-chart[data-figure]"));
    const drawn = charts.map((el) => {
      const figure = JSON.parse(el.dataset.figure);
      el.removeAttribute("data-figure");
      const options = { staticPlot: printing, responsive: !printing, displaylogo: false };
      return window.Plotly ? window.Plotly.newPlot(el, figure.data, figure.layout, options) : Promise.resolve();
    });
    Promise.all(drawn).then(() => { document.body.dataset.chartsReady = "yes"; });
  }
  window.addEventListener("load", () => draw(document));
})();
