// DocOS UI helpers. Served as a static file (CSP forbids inline scripts).
(function () {
  "use strict";
  const root = document.documentElement;

  function csrfToken() {
    // The cookie is HttpOnly in production, so the page carries the token too.
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  // Theme: remembered per user on the server (and locally for the public pages).
  const themes = ["auto", "light", "dark"];
  document.addEventListener("click", function (ev) {
    const toggle = ev.target.closest("[data-theme-toggle]");
    if (toggle) {
      const next = themes[(themes.indexOf(root.dataset.theme || "auto") + 1) % themes.length];
      root.dataset.theme = next;
      localStorage.setItem("docos-theme", next);
      if (document.body.dataset.idleSeconds) {
        fetch("/account/theme", { method: "POST", headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" }, body: "theme=" + next });
      }
    }
    const navToggle = ev.target.closest("[data-toggle-nav]");
    if (navToggle) {
      const nav = document.getElementById("nav");
      nav.classList.toggle("open");
      navToggle.setAttribute("aria-expanded", nav.classList.contains("open"));
    }
  });
  if (!document.body || !document.body.dataset.idleSeconds) {
    const saved = localStorage.getItem("docos-theme");
    if (saved) root.dataset.theme = saved;
  }

  // Idle warning: two minutes before the server-side idle timeout, offer to stay signed in.
  const idleSeconds = parseInt((document.body && document.body.dataset.idleSeconds) || "0", 10);
  if (idleSeconds > 0) {
    const warnAt = Math.max(idleSeconds - 120, 10) * 1000;
    let deadline = Date.now() + idleSeconds * 1000;
    let warnTimer, tick;
    const box = document.getElementById("idle-warning");
    const countdown = box.querySelector("[data-idle-countdown]");
    const stay = box.querySelector("[data-idle-stay]");
    let returnFocus = null; // where the user was when the warning took focus
    function schedule() {
      clearTimeout(warnTimer); clearInterval(tick);
      const hadFocus = !box.hidden && box.contains(document.activeElement);
      box.hidden = true;
      if (hadFocus) {
        // Back to where the user was (WCAG 2.4.3), not to <body>.
        if (returnFocus && returnFocus.isConnected && returnFocus !== document.body) returnFocus.focus();
        else { const main = document.getElementById("main"); main.tabIndex = -1; main.focus(); }
      }
      returnFocus = null;
      deadline = Date.now() + idleSeconds * 1000;
      warnTimer = setTimeout(function () {
        returnFocus = document.activeElement;
        box.hidden = false;
        stay.focus(); // the alertdialog is announced with its name and text, and Enter keeps the session
        tick = setInterval(function () {
          const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
          countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
          if (left === 0) { clearInterval(tick); window.location.reload(); }
        }, 1000);
      }, warnAt);
    }
    box.addEventListener("keydown", function (ev) { if (ev.key === "Escape") stay.click(); });
    stay.addEventListener("click", function () {
      fetch("/session/keepalive", { method: "POST", headers: { "X-CSRFToken": csrfToken() } }).then(function (r) {
        if (r.ok) schedule(); else window.location.reload();
      });
    });
    schedule();
  }
  // After a failed submit the page opens on its error summary (docos_forms.error_summary), which
  // links to each invalid field: focus goes there so that it is read first (WCAG 3.3.1).
  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();

  // A table wider (or, like the calendar, taller) than its .table-wrap scrolls inside it: keyboard users must be
  // able to reach that region (WCAG 2.1.1), so it takes focus and is named after its table.
  function scrollableTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      const sideways = wrap.scrollWidth > wrap.clientWidth;
      if (sideways || wrap.scrollHeight > wrap.clientHeight) {  // e.g. the calendar, at most 75vh high
        if (wrap.hasAttribute("tabindex")) return;
        const caption = wrap.querySelector("caption");
        const heading = wrap.closest("section, .panel, main");
        const title = heading && heading.querySelector("h1, h2, h3");
        wrap.tabIndex = 0;
        wrap.dataset.scrolls = "";
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", ((caption || title || {}).textContent || "Table").trim() + (sideways ? " (scrolls sideways)" : " (scrolls)"));
      } else if ("scrolls" in wrap.dataset) {
        ["tabindex", "role", "aria-label", "data-scrolls"].forEach(function (name) { wrap.removeAttribute(name); });
      }
    });
  }
  scrollableTables();
  window.addEventListener("resize", scrollableTables);
})();
