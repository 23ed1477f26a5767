// WhatsApp conversations (patient chart panel, inbox conversation): new messages appear without a
// reload. Every few seconds the newest pages shown are fetched again as one HTML fragment (the
// server renders and escapes it) and swapped in when they changed; "Older messages" loads the page
// before the oldest one shown, above it. Polling pauses while the tab is hidden.
(function () {
  "use strict";
  const POLL_MS = 8000;

  function fetchPage(url) {
    return fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401 || r.status === 403 || r.redirected) { window.location.reload(); return null; }
      if (!r.ok) throw new Error(String(r.status));
      return r.text();
    });
  }

  function parse(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content.querySelector("[data-wa-page]");
  }

  function start(box) {
    const error = box.parentElement.querySelector("[data-wa-error]");

    box.addEventListener("click", function (event) {
      const link = event.target.closest("[data-wa-older]");
      if (!link) return;
      event.preventDefault();
      fetchPage(link.href).then(function (html) {
        const page = html && parse(html);
        if (!page) return;
        link.parentElement.remove();  // this page's "older" link is spent
        box.insertBefore(page, box.firstElementChild);
      }).catch(function () { if (error) error.hidden = false; });
    });

    function poll() {
      if (document.hidden) { window.setTimeout(poll, POLL_MS); return; }
      const shown = box.querySelectorAll("[data-wa-page]").length || 1;
      const lines = function (root) { return Array.from(root.querySelectorAll("ol > li")).map(function (li) { return li.outerHTML; }).join(""); };
      fetchPage(box.dataset.url + "?pages=" + shown)
        .then(function (html) {
          const page = html && parse(html);
          if (page && lines(page) !== lines(box)) box.replaceChildren(page);
          if (error) error.hidden = true;
        })
        .catch(function () { if (error) error.hidden = false; })
        .finally(function () { window.setTimeout(poll, POLL_MS); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-wa-lines]").forEach(start);
  });
})();
