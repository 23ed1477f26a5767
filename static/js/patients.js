// Patient registry: search as you type, guardian fields for minors, import progress, confirmations.
// A static file (the CSP forbids inline scripts); every page also works without it.
(function () {
  "use strict";

  // --- search as you type: fetch the server-rendered results fragment ------------------------
  const input = document.querySelector("[data-patient-search]");
  if (input) {
    const target = document.querySelector(input.dataset.results);
    const endpoint = input.dataset.endpoint || "/patients/";
    let timer = null;
    let controller = null;
    let last = input.value.trim();
    function run() {
      const q = input.value.trim();
      if (q === last) return;
      last = q;
      if (controller) controller.abort();
      controller = new AbortController();
      const params = new URLSearchParams({ fragment: "1" });
      if (q) params.set("q", q);
      fetch(endpoint + "?" + params.toString(), {
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
        signal: controller.signal,
      })
        .then(function (r) {
          if (r.redirected || !r.ok) { window.location.reload(); return null; }
          return r.text();
        })
        .then(function (html) {
          if (html === null) return;
          target.innerHTML = html; // rendered and escaped by Django templates
          // A short count in the polite live region ("12 patients found"), not the whole list.
          const status = document.querySelector(input.dataset.status);
          const summary = target.querySelector("[data-results-summary]");
          if (status && summary) status.textContent = summary.textContent;
          const url = new URL(window.location.href);
          if (q) url.searchParams.set("q", q); else url.searchParams.delete("q");
          url.searchParams.delete("page");
          window.history.replaceState(null, "", url.toString());
        })
        .catch(function (err) { if (err.name !== "AbortError") console.warn("search failed"); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(run, 180);
    });
    input.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      clearTimeout(timer);
      last = null;
      run();
    });
    // Arrow keys move between the input and the results; Enter opens the focused patient.
    document.addEventListener("keydown", function (ev) {
      if (ev.key !== "ArrowDown" && ev.key !== "ArrowUp") return;
      const links = Array.from(target.querySelectorAll("a.pt-result"));
      if (!links.length) return;
      const index = links.indexOf(document.activeElement);
      if (document.activeElement === input && ev.key === "ArrowDown") {
        ev.preventDefault(); links[0].focus();
      } else if (index >= 0) {
        ev.preventDefault();
        if (ev.key === "ArrowDown" && index < links.length - 1) links[index + 1].focus();
        else if (ev.key === "ArrowUp") (index === 0 ? input : links[index - 1]).focus();
      }
    });
  }

  // --- guardian fields: shown for minors (always shown without JavaScript) ---------------------
  const guardian = document.querySelector("[data-guardian-fields]");
  if (guardian) {
    const dob = document.getElementById("id_date_of_birth");
    const age = document.getElementById("id_age_years");
    const adultAge = parseInt(guardian.dataset.adultAge || "18", 10);
    function years() {
      if (dob && dob.value) {
        const born = new Date(dob.value + "T00:00:00");
        const now = new Date();
        let y = now.getFullYear() - born.getFullYear();
        if (now.getMonth() < born.getMonth() || (now.getMonth() === born.getMonth() && now.getDate() < born.getDate())) y -= 1;
        return y;
      }
      if (age && age.value !== "") return parseInt(age.value, 10);
      return null;
    }
    function update() {
      const y = years();
      const hasErrors = guardian.querySelector(".field-error") !== null;
      const hasValues = Array.from(guardian.querySelectorAll("input, select")).some(function (el) { return el.value; });
      guardian.hidden = !(hasErrors || hasValues || y === null || y < adultAge);
    }
    [dob, age].forEach(function (el) { if (el) el.addEventListener("input", update); });
    update();
  }

  // --- import progress: poll the small status endpoint -------------------------------------
  const panel = document.querySelector("[data-import-status-url]");
  if (panel) {
    const url = panel.dataset.importStatusUrl;
    const set = function (sel, value) { const el = panel.querySelector(sel); if (el) el.textContent = value; };
    let running = false;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) return;
          const bar = panel.querySelector("[data-import-progress]");
          if (bar) { bar.value = s.percent; bar.textContent = s.percent + "%"; }
          set("[data-import-label]", s.label);
          set("[data-import-processed]", s.processed);
          set("[data-import-created]", s.created);
          set("[data-import-skipped]", s.skipped);
          set("[data-import-errors]", s.errors);
          set("[data-import-merged]", s.merged);
          set("[data-import-held]", s.held);
          const report = panel.querySelector("[data-import-report]");
          if (report) report.hidden = !(s.done && s.errors > 0);
          if (!s.done) { running = true; setTimeout(poll, 1500); }
          // Held rows and the follow-up list are drawn by the server: show them once the run ends.
          else if (running && (s.held > 0 || s.follow_up > 0)) window.location.reload();
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    poll();
  }

  // --- confirmations for irreversible actions ------------------------------------------------
  document.addEventListener("submit", function (ev) {
    const form = ev.target.closest("[data-patients-confirm]");
    if (form && !window.confirm(form.dataset.patientsConfirm)) ev.preventDefault();
  });
})();
