// Clinical forms: add/remove formset rows, formulary autocomplete, BMI, confirm before signing.
// Served as a static file (the CSP forbids inline scripts). No dependencies.
(function () {
  "use strict";

  // --- formset rows -------------------------------------------------------------------------
  // A [data-formset] block holds Django's management form, the rows in [data-formset-rows] and an
  // empty row in <template data-formset-template> (names contain __prefix__). Rows are renumbered
  // after a removal, so the server always receives items-0 ... items-(N-1).
  function renumber(block) {
    var prefix = block.dataset.prefix;
    var rows = block.querySelectorAll("[data-formset-rows] > [data-formset-row]");
    var pattern = new RegExp("^(id_)?" + prefix + "-(\\d+|__prefix__)-");
    rows.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        ["name", "id", "for"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && pattern.test(value)) {
            el.setAttribute(attr, value.replace(pattern, function (_, id) { return (id || "") + prefix + "-" + index + "-"; }));
          }
        });
      });
    });
    var total = block.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    if (total) total.value = String(rows.length);
    var empty = block.querySelector("[data-formset-empty]");
    if (empty) empty.hidden = rows.length > 0;
  }

  function firstInput(row) {
    return row.querySelector("input:not([type=hidden]), select, textarea");
  }

  function addRow(block) {
    var template = block.querySelector("template[data-formset-template]");
    var rowsBox = block.querySelector("[data-formset-rows]");
    var index = rowsBox.querySelectorAll(":scope > [data-formset-row]").length;
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    var holder = document.createElement("div");
    holder.innerHTML = html;
    var row = holder.firstElementChild;
    rowsBox.appendChild(row);
    renumber(block);
    var input = firstInput(row);
    if (input) input.focus();
    return row;
  }

  function removeRow(block, row) {
    var rowsBox = block.querySelector("[data-formset-rows]");
    var rows = Array.prototype.slice.call(rowsBox.querySelectorAll(":scope > [data-formset-row]"));
    var min = parseInt(block.dataset.minRows || "0", 10);
    var index = rows.indexOf(row);
    if (rows.length <= min) {
      // Keep the last required row, just clear it.
      row.querySelectorAll("input, select, textarea").forEach(function (el) {
        if (el.type === "checkbox") el.checked = false; else if (el.name.indexOf("TOTAL_FORMS") < 0) el.value = "";
      });
      var first = firstInput(row);
      if (first) first.focus();
      return;
    }
    row.remove();
    renumber(block);
    var remaining = rowsBox.querySelectorAll(":scope > [data-formset-row]");
    var target = remaining[Math.min(index, remaining.length - 1)];
    var focusEl = target ? firstInput(target) : block.querySelector("[data-formset-add]");
    if (focusEl) focusEl.focus();
  }

  document.addEventListener("click", function (ev) {
    var add = ev.target.closest("[data-formset-add]");
    if (add) {
      ev.preventDefault();
      addRow(add.closest("[data-formset]"));
      return;
    }
    var remove = ev.target.closest("[data-formset-remove]");
    if (remove) {
      ev.preventDefault();
      removeRow(remove.closest("[data-formset]"), remove.closest("[data-formset-row]"));
    }
  });

  // Ctrl/Cmd+Enter inside a row adds the next row (keyboard-only entry of a long prescription).
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      var row = ev.target.closest && ev.target.closest("[data-formset-row]");
      if (row) {
        ev.preventDefault();
        addRow(row.closest("[data-formset]"));
      }
    }
  });

  // --- confirm before irreversible actions ----------------------------------------------------
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      ev.preventDefault();
    }
  });

  // --- BMI ---------------------------------------------------------------------------------
  function updateBmi() {
    var output = document.querySelector("[data-bmi-output]");
    var weight = document.querySelector("[data-bmi-weight]");
    var height = document.querySelector("[data-bmi-height]");
    if (!output || !weight || !height) return;
    var w = parseFloat(weight.value), h = parseFloat(height.value) / 100;
    output.textContent = w > 0 && h > 0 ? (w / (h * h)).toFixed(1) : "—";
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-bmi-weight], [data-bmi-height]")) updateBmi();
  });
  updateBmi();

  // --- formulary autocomplete (ARIA combobox) ---------------------------------------------------
  var form = document.querySelector("[data-formulary-url]");
  if (!form) return;
  var url = form.dataset.formularyUrl;
  var timer = null, seq = 0, uid = 0;

  function rowField(row, name) {
    return row.querySelector('[name$="-' + name + '"]');
  }

  function setup(input) {
    if (input.dataset.comboReady) return;
    input.dataset.comboReady = "1";
    var list = input.parentNode.querySelector(".suggestions");
    uid += 1;
    list.id = "formulary-list-" + uid;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
  }

  function close(input) {
    var list = input.parentNode.querySelector(".suggestions");
    list.hidden = true;
    list.innerHTML = "";
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(input, drug) {
    var row = input.closest("[data-formset-row]");
    input.value = drug.name;
    var hidden = rowField(row, "drug");
    if (hidden) hidden.value = drug.id;
    [["strength", drug.strength], ["form", drug.form]].forEach(function (pair) {
      var el = rowField(row, pair[0]);
      if (el) el.value = pair[1] || "";
    });
    [["dose", drug.dose], ["frequency", drug.frequency], ["route", drug.route], ["duration", drug.duration]].forEach(function (pair) {
      var el = rowField(row, pair[0]);
      if (el && !el.value && pair[1]) el.value = pair[1];
    });
    close(input);
    var next = rowField(row, "dose");
    if (next) next.focus();
  }

  function show(input, results) {
    var list = input.parentNode.querySelector(".suggestions");
    list.innerHTML = "";
    if (!results.length) { close(input); return; }
    results.forEach(function (drug, i) {
      var li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === 0 ? "true" : "false");
      li.textContent = drug.label;  // textContent: drug names are user text, never HTML
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(input, drug); });
      li._drug = drug;
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-activedescendant", list.id + "-0");
  }

  function search(input) {
    var q = input.value.trim();
    if (q.length < 2) { close(input); return; }
    var mine = ++seq;
    fetch(url + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) { if (mine === seq && document.activeElement === input) show(input, data.results || []); })
      .catch(function () { close(input); });
  }

  document.addEventListener("focusin", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-formulary]")) setup(ev.target);
  });
  document.addEventListener("focusout", function (ev) {
    if (ev.target.matches && ev.target.matches("[data-formulary]")) close(ev.target);
  });
  document.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!(input.matches && input.matches("[data-formulary]"))) return;
    setup(input);
    var hidden = rowField(input.closest("[data-formset-row]"), "drug");
    if (hidden) hidden.value = "";  // typed by hand: no longer the chosen formulary drug
    clearTimeout(timer);
    timer = setTimeout(function () { search(input); }, 150);
  });
  document.addEventListener("keydown", function (ev) {
    var input = ev.target;
    if (!(input.matches && input.matches("[data-formulary]"))) return;
    var list = input.parentNode.querySelector(".suggestions");
    if (!list || list.hidden) return;
    var options = Array.prototype.slice.call(list.children);
    var current = options.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      var next = ev.key === "ArrowDown" ? Math.min(current + 1, options.length - 1) : Math.max(current - 1, 0);
      options.forEach(function (li, i) { li.setAttribute("aria-selected", i === next ? "true" : "false"); });
      input.setAttribute("aria-activedescendant", options[next].id);
      options[next].scrollIntoView({ block: "nearest" });
    } else if (ev.key === "Enter" && !ev.ctrlKey && !ev.metaKey) {
      if (current >= 0) { ev.preventDefault(); choose(input, options[current]._drug); }
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      close(input);
    }
  });
})();
