// The waiting-area board refreshes itself: it polls the board's JSON every few seconds and redraws
// the tokens. Only token numbers and first names with an initial ever reach this page.
(function () {
  "use strict";
  const POLL_MS = 10000;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function item(entry) {
    const wrap = document.createDocumentFragment();
    wrap.appendChild(el("span", "board-token", String(entry.token)));
    wrap.appendChild(document.createTextNode(" "));
    wrap.appendChild(el("span", "board-name", entry.name));
    return wrap;
  }

  function draw(board, data) {
    board.querySelector("[data-board-location]").textContent = data.location;
    board.querySelector("[data-board-updated]").textContent = data.updated_at;
    const grid = board.querySelector("[data-board-grid]");
    grid.replaceChildren();
    if (!data.boards.length) {
      grid.appendChild(el("p", "board-empty", "No one is waiting."));
      return;
    }
    data.boards.forEach(function (doctor) {
      const card = el("section", "board-card");
      card.appendChild(el("h2", "", doctor.clinician));
      card.appendChild(el("p", "board-label", "Now seeing"));
      const now = el("p", "board-now");
      if (doctor.now.length) doctor.now.forEach(function (e, i) { if (i) now.appendChild(document.createTextNode("  ")); now.appendChild(item(e)); });
      else now.appendChild(el("span", "muted", "—"));
      card.appendChild(now);
      card.appendChild(el("p", "board-label", "Next"));
      const list = el("ol", "board-waiting");
      if (doctor.waiting.length) doctor.waiting.forEach(function (e) { const li = el("li"); li.appendChild(item(e)); list.appendChild(li); });
      else list.appendChild(el("li", "muted", "Nobody waiting"));
      card.appendChild(list);
      grid.appendChild(card);
    });
  }

  function start(board) {
    const error = board.querySelector("[data-board-error]");
    function poll() {
      fetch(board.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) {
          if (r.status === 401 || r.status === 403 || r.redirected) { window.location.reload(); return null; }
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
        .then(function (data) { if (data) { draw(board, data); error.hidden = true; } })
        .catch(function () { error.hidden = false; })
        .finally(function () { window.setTimeout(poll, POLL_MS); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-board]").forEach(start);
  });
})();
