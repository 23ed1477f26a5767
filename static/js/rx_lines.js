// Prescription form: Enter never submits the form. In a text box it moves to the next box (the
// next line's medicine after the last box of a line, adding a line if needed), so a half-typed
// medicine such as "amox" is never saved by accident. Choosing a formulary suggestion with Enter
// (clinical.js) still works: that handler runs first and marks the event handled.
// The server refuses incomplete lines anyway; this only spares the round trip.
(function () {
  "use strict";
  var form = document.querySelector("form[data-formulary-url]");
  if (!form) return;

  var FIELDS = "input:not([type=hidden]):not([type=checkbox]):not([type=submit]):not([type=button]), select, textarea";

  function fieldsOf(scope) {
    return Array.prototype.filter.call(scope.querySelectorAll(FIELDS), function (el) {
      return !el.disabled && el.offsetParent !== null && !el.closest("template");
    });
  }

  // On the document, registered after clinical.js: its suggestion handler sees the key first.
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" || ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    var el = ev.target;
    if (!el.matches || !form.contains(el) || !el.matches("input")) return;
    if (el.matches("[type=submit], [type=button], [type=checkbox]")) return;
    ev.preventDefault();
    var row = el.closest("[data-formset-row]");
    var all = fieldsOf(form);
    var next = all[all.indexOf(el) + 1];
    if (row && (!next || !row.contains(next))) {
      // Last box of a line: go to the next line's medicine, adding an empty line after the last one.
      var following = row.nextElementSibling;
      if (!following) {
        var add = row.closest("[data-formset]").querySelector("[data-formset-add]");
        if (add) add.click();
        following = row.nextElementSibling;
      }
      if (following) next = fieldsOf(following)[0];
    }
    if (next) next.focus();
  });
}());
