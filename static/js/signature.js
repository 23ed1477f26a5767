/* Signature pad of the consent signing screen (templates/patients/documents/consent_sign.html).
   Draws with pointer events (finger, stylus or mouse; stylus pressure varies the line), keeps the
   ink when a tablet is rotated, and on submit puts the drawing in the hidden "signature" field as
   a PNG data URL. The server checks it again (real PNG, size, not blank). No inline script. */
(function () {
  "use strict";

  var INK = "#14143c";
  var MAX_SCALE = 2; // device pixels per CSS pixel; keeps the PNG small on dense screens

  function setupPad(form) {
    var canvas = form.querySelector("[data-signature-canvas]");
    var input = form.querySelector("[data-signature-input]");
    var error = form.querySelector("[data-signature-error]");
    var hint = form.querySelector("[data-signature-hint]");
    var clearButton = form.querySelector("[data-signature-clear]");
    var submit = form.querySelector("[data-signature-submit]");
    if (!canvas || !input || !canvas.getContext) {
      return;
    }
    var ctx = canvas.getContext("2d");
    var inked = false;
    var pointerId = null;
    var last = null;

    function style() {
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = INK;
      ctx.fillStyle = INK;
    }

    function resize() {
      var rect = canvas.getBoundingClientRect();
      if (!rect.width || !rect.height) {
        return;
      }
      var scale = Math.min(window.devicePixelRatio || 1, MAX_SCALE);
      var saved = inked ? canvas.toDataURL("image/png") : null;
      canvas.width = Math.round(rect.width * scale);
      canvas.height = Math.round(rect.height * scale);
      ctx.setTransform(scale, 0, 0, scale, 0, 0);
      style();
      if (saved) {
        var image = new Image();
        image.onload = function () {
          ctx.drawImage(image, 0, 0, rect.width, rect.height);
        };
        image.src = saved;
      }
    }

    function position(event) {
      var rect = canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    function lineWidth(event) {
      if (event.pointerType === "pen" && event.pressure > 0) {
        return 1.2 + event.pressure * 3;
      }
      return 2.6;
    }

    function markInked() {
      inked = true;
      if (hint) { hint.hidden = true; }
      if (error) { error.hidden = true; }
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (event.button > 0 || pointerId !== null) {
        return;
      }
      event.preventDefault();
      pointerId = event.pointerId;
      if (canvas.setPointerCapture) {
        canvas.setPointerCapture(pointerId);
      }
      last = position(event);
      ctx.beginPath();
      ctx.arc(last.x, last.y, lineWidth(event) / 2, 0, Math.PI * 2);
      ctx.fill();
      markInked();
    });

    canvas.addEventListener("pointermove", function (event) {
      if (event.pointerId !== pointerId || last === null) {
        return;
      }
      event.preventDefault();
      var events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      if (!events.length) {
        events = [event];
      }
      events.forEach(function (step) {
        var point = position(step);
        ctx.lineWidth = lineWidth(step);
        ctx.beginPath();
        ctx.moveTo(last.x, last.y);
        ctx.lineTo(point.x, point.y);
        ctx.stroke();
        last = point;
      });
    });

    function endStroke(event) {
      if (event.pointerId === pointerId) {
        pointerId = null;
        last = null;
      }
    }
    canvas.addEventListener("pointerup", endStroke);
    canvas.addEventListener("pointercancel", endStroke);
    canvas.addEventListener("lostpointercapture", endStroke);

    function clear() {
      ctx.save();
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.restore();
      inked = false;
      input.value = "";
      if (hint) { hint.hidden = false; }
    }
    if (clearButton) {
      clearButton.addEventListener("click", clear);
    }

    form.addEventListener("submit", function (event) {
      if (!inked) {
        event.preventDefault();
        if (error) { error.hidden = false; }
        canvas.scrollIntoView({ block: "center", behavior: "smooth" });
        return;
      }
      input.value = canvas.toDataURL("image/png");
      if (submit) {
        submit.disabled = true; // one tap, one signed form
        submit.textContent = "Signing\u2026";
      }
    });

    // Coming back to the page (browser back button) must not leave the button disabled.
    var submitLabel = submit ? submit.textContent : "";
    window.addEventListener("pageshow", function () {
      if (submit) {
        submit.disabled = false;
        submit.textContent = submitLabel;
      }
    });

    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(resize, 150);
    });
    resize();
  }

  function setupSigner(form) {
    // Switching between "Patient" and "Guardian" fills the signer's name from the record, unless
    // staff already typed another name.
    var name = form.querySelector("[data-signer-name]");
    var patient = form.getAttribute("data-patient-name") || "";
    var guardian = form.getAttribute("data-guardian-name") || "";
    if (!name) {
      return;
    }
    form.querySelectorAll("input[name='signer_relation']").forEach(function (radio) {
      radio.addEventListener("change", function () {
        var current = name.value.trim();
        if (radio.value === "guardian" && (current === "" || current === patient)) {
          name.value = guardian;
        } else if (radio.value === "self" && (current === "" || current === guardian)) {
          name.value = patient;
        }
      });
    });
  }

  function init() {
    document.querySelectorAll("form[data-signature-form]").forEach(function (form) {
      setupPad(form);
      setupSigner(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
