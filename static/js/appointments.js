// Appointment pages: type colours, the booking form's slot picker, and drag-to-reschedule on the
// calendar (HTML5 drag and drop + a POST to the appointment's reschedule endpoint). Static file:
// the CSP forbids inline scripts. Without JavaScript every page still works with plain forms.
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta && meta.content ? meta.content : "";
  }

  // Type colours come from data-colour (inline style attributes are blocked by the CSP; CSSOM is not).
  function paintColours(root) {
    root.querySelectorAll("[data-colour]").forEach(function (el) {
      const colour = el.dataset.colour || "";
      if (/^#[0-9a-fA-F]{6}$/.test(colour)) el.style.setProperty("--type-colour", colour);
    });
  }

  // Booking form: list free slots for the chosen location, doctor, type and date.
  function slotPicker(form) {
    const box = form.querySelector("[data-slots]");
    const buttons = form.querySelector("[data-slot-buttons]");
    const note = form.querySelector("[data-slots-note]");
    const field = function (name) { return form.querySelector('[name="' + name + '"]'); };
    const timeInput = field("time");
    let controller = null;

    function render(slots) {
      buttons.replaceChildren();
      box.hidden = false;
      note.textContent = slots.length ? "(choose one, or type another time)" : "(none on this day)";
      slots.forEach(function (value) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = value;
        button.setAttribute("aria-pressed", String(timeInput.value === value));
        button.addEventListener("click", function () {
          timeInput.value = value;
          buttons.querySelectorAll("button").forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
          button.setAttribute("aria-pressed", "true");
        });
        buttons.appendChild(button);
      });
    }

    function refresh() {
      const params = new URLSearchParams({
        location: field("location").value || "",
        doctor: field("clinician").value || "",
        type: field("appointment_type").value || "",
        date: field("date").value || "",
      });
      if (!params.get("doctor") || !params.get("date")) { box.hidden = true; return; }
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(form.dataset.slotsUrl + "?" + params.toString(), { headers: { Accept: "application/json" }, signal: controller.signal, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { slots: [] }; })
        .then(function (data) { render(data.slots || []); })
        .catch(function () { /* aborted or offline: the time field still works */ });
    }

    ["location", "clinician", "appointment_type", "date"].forEach(function (name) {
      const el = field(name);
      if (el) el.addEventListener("change", refresh);
    });
    refresh();
  }

  // Calendar: drag an appointment onto another cell to move it there.
  function calendar(table) {
    const message = document.querySelector("[data-calendar-message]");
    let dragged = null;

    function show(text) {
      if (!message) { window.alert(text); return; }
      message.textContent = text;
      message.hidden = false;
      message.scrollIntoView({ block: "nearest" });
    }

    table.addEventListener("dragstart", function (ev) {
      const card = ev.target.closest("[data-reschedule-url]");
      if (!card) return;
      dragged = card;
      card.classList.add("dragging");
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData("text/plain", card.dataset.rescheduleUrl);
    });
    table.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      table.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });
    table.addEventListener("dragover", function (ev) {
      const cell = ev.target.closest("[data-drop]");
      if (!cell || !dragged) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = "move";
      table.querySelectorAll(".drop-target").forEach(function (c) { if (c !== cell) c.classList.remove("drop-target"); });
      cell.classList.add("drop-target");
    });
    table.addEventListener("drop", function (ev) {
      const cell = ev.target.closest("[data-drop]");
      if (!cell || !dragged) return;
      ev.preventDefault();
      const body = new URLSearchParams({ date: cell.dataset.date, time: cell.dataset.time });
      if (cell.dataset.clinician) body.set("clinician", cell.dataset.clinician);
      if (table.dataset.location) body.set("location", table.dataset.location);
      const card = dragged;
      fetch(card.dataset.rescheduleUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString(),
      })
        .then(function (r) { return r.json().catch(function () { return { ok: false, message: "The server did not answer." }; }); })
        .then(function (data) {
          if (data.ok) { window.location.reload(); return; }
          show(data.message || "The appointment could not be moved.");
        })
        .catch(function () { show("Network error: the appointment was not moved."); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    paintColours(document);
    document.querySelectorAll("[data-slot-form]").forEach(slotPicker);
    document.querySelectorAll("[data-calendar]").forEach(calendar);
  });
})();
