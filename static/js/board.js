// Portfolio board: dropping a card on another phase column opens that engagement's gate check, which asks to
// confirm the move and refuses it while criteria fail. Moving is never done from the browser alone.
(() => {
  const board = document.getElementById("board");
  if (!board) return;
  let dragged = null;
  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".board-card");
    if (!dragged) return;
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.uuid);
  });
  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    board.querySelectorAll(".drop-target").forEach((column) => column.classList.remove("drop-target"));
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".board-column");
    if (!column || !dragged || column.dataset.phase === dragged.dataset.phase) return;
    event.preventDefault();
    board.querySelectorAll(".drop-target").forEach((c) => c !== column && c.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".board-column");
    if (!column || !dragged) return;
    event.preventDefault();
    const url = new URL(dragged.dataset.advanceUrl, window.location.href);
    url.searchParams.set("to", column.dataset.phase);
    window.location.assign(url);
  });
})();
