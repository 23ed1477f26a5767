// Prescription form: "Print Hindi instructions too" follows the Hindi text. Typing Hindi
// instructions or advice ticks the box, unless the prescriber has set the box themselves, or the
// draft already held Hindi text when the page opened (then the box shows their earlier choice).
// The API does the same on the server: a prescription created without print_hindi prints Hindi
// when any Hindi text was entered (clinical.services.prescription_create).
(function () {
  "use strict";
  var box = document.querySelector("input[data-hindi-default]");
  if (!box || !box.form) return;
  var form = box.form;

  function hasHindi() {
    return Array.prototype.some.call(form.querySelectorAll("input[lang=hi], textarea[lang=hi]"), function (el) {
      return el.value.trim() !== "";
    });
  }

  var follow = !box.checked && !hasHindi();
  box.addEventListener("change", function () {
    follow = false; // the prescriber's own choice from now on
  });
  form.addEventListener("input", function (ev) {
    if (follow && ev.target.matches && ev.target.matches("[lang=hi]") && hasHindi()) box.checked = true;
  });
})();
