// Clinical forms: add/remove formset rows, medicine and ICD-10 autocomplete, BMI, confirm before signing.
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

  // --- autocomplete (ARIA combobox) ---------------------------------------------------------------
  // Two uses: the prescription line's medicine ([data-formulary] inputs; the form names the URL in
  // data-formulary-url) and the diagnosis's ICD-10 code ([data-icd10] inputs; data-icd10-url). Each
  // input sits in a .combo box next to an empty <ul class="suggestions">. Without JavaScript the
  // fields are plain text inputs and the server validates what is typed.
  var uid = 0;

  function rowField(row, name) {
    return row.querySelector('[name$="-' + name + '"]');
  }

  function span(text, className) {
    var el = document.createElement("span");
    el.className = className;
    el.textContent = text;  // textContent: names are data, never HTML
    return el;
  }

  // One polite live region for the search boxes below: a short count ("3 medicines found", "No
  // medicine found") after each search, never the options themselves.
  var comboStatus = null;
  function announce(text) {
    if (!comboStatus) {
      comboStatus = document.createElement("p");
      comboStatus.className = "sr-only";
      comboStatus.setAttribute("role", "status");
      comboStatus.setAttribute("aria-atomic", "true");
      comboStatus.dataset.comboStatus = "";
      document.body.appendChild(comboStatus);
    }
    comboStatus.textContent = text;
  }

  function makeCombo(config) {
    var timer = null, seq = 0;
    announce("");  // the region exists before its first message, or screen readers may miss it

    function listOf(input) { return input.parentNode.querySelector(".suggestions"); }

    function setup(input) {
      if (input.dataset.comboReady) return;
      var list = listOf(input);
      if (!list) return;
      input.dataset.comboReady = "1";
      uid += 1;
      list.id = "combo-list-" + uid;
      input.setAttribute("role", "combobox");
      input.setAttribute("aria-autocomplete", "list");
      input.setAttribute("aria-expanded", "false");
      input.setAttribute("aria-controls", list.id);
    }

    function close(input) {
      var list = listOf(input);
      if (!list) return;
      list.hidden = true;
      list.innerHTML = "";
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function show(input, results) {
      var list = listOf(input);
      list.innerHTML = "";
      var n = results.length;
      announce(n ? n + " " + (n === 1 ? config.noun[0] : config.noun[1]) + " found" : config.noun[2]);
      if (!n) { close(input); return; }
      results.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", i === 0 ? "true" : "false");
        config.render(li, item);
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); config.choose(input, item); close(input); });
        li._item = item;
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
      fetch(config.url + "?q=" + encodeURIComponent(q) + (config.params || ""), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (data) { if (mine === seq && document.activeElement === input) show(input, data.results || []); })
        .catch(function () { close(input); });
    }

    function mine(el) { return el && el.matches && el.matches(config.selector); }

    document.addEventListener("focusin", function (ev) { if (mine(ev.target)) setup(ev.target); });
    document.addEventListener("focusout", function (ev) { if (mine(ev.target)) close(ev.target); });
    document.addEventListener("input", function (ev) {
      var input = ev.target;
      if (!mine(input)) return;
      setup(input);
      if (config.typed) config.typed(input);
      clearTimeout(timer);
      timer = setTimeout(function () { search(input); }, 150);
    });
    document.addEventListener("keydown", function (ev) {
      var input = ev.target;
      if (!mine(input)) return;
      var list = listOf(input);
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
        if (current >= 0) { ev.preventDefault(); config.choose(input, options[current]._item); close(input); }
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        close(input);
      }
    });
  }

  // Medicines: the clinic's own formulary first (badge "clinic"), then the reference formulary
  // (brands and generics; entries not yet checked against their source carry "unverified").
  var rxForm = document.querySelector("[data-formulary-url]");
  if (rxForm) {
    makeCombo({
      selector: "[data-formulary]",
      noun: ["medicine", "medicines", "No medicine found"],
      url: rxForm.dataset.formularyUrl,
      // A child's weight (set by the page): reference drugs then carry the dose worked out for it.
      params: rxForm.dataset.childWeightKg ? "&child_weight_kg=" + encodeURIComponent(rxForm.dataset.childWeightKg) : "",
      render: function (li, drug) {
        li.appendChild(span(drug.label, "option-label"));
        if (drug.source === "clinic") li.appendChild(span("clinic", "badge option-clinic"));
        if (drug.source === "clinic" && drug.generic) li.appendChild(span(drug.generic, "option-generic"));
        if (drug.verified === false) li.appendChild(span("unverified", "badge option-unverified"));
        if (drug.dose_note) li.appendChild(span("Child dose: " + drug.dose + " " + drug.frequency + " (" + drug.dose_note + ")", "option-generic"));
      },
      typed: function (input) {
        var hidden = rowField(input.closest("[data-formset-row]"), "drug");
        if (hidden) hidden.value = "";  // typed by hand: no longer the chosen formulary drug
      },
      choose: function (input, drug) {
        var row = input.closest("[data-formset-row]");
        input.value = drug.name;
        var hidden = rowField(row, "drug");
        if (hidden) hidden.value = drug.id || "";
        [["strength", drug.strength], ["form", drug.form]].forEach(function (pair) {
          var el = rowField(row, pair[0]);
          if (el) el.value = pair[1] || "";
        });
        [["dose", drug.dose], ["frequency", drug.frequency], ["route", drug.route], ["duration", drug.duration]].forEach(function (pair) {
          var el = rowField(row, pair[0]);
          if (el && !el.value && pair[1]) el.value = pair[1];
        });
        var next = rowField(row, "dose");
        if (next) next.focus();
      }
    });
  }

  // ICD-10: search from the diagnosis words or the code box; choosing fills the code, and the words
  // too when they were what was searched (or are still empty).
  var dxForm = document.querySelector("[data-icd10-url]");
  if (dxForm) {
    makeCombo({
      selector: "[data-icd10]",
      noun: ["diagnosis", "diagnoses", "No diagnosis found"],
      url: dxForm.dataset.icd10Url,
      render: function (li, entry) {
        li.appendChild(span(entry.code, "option-code"));
        li.appendChild(span(" " + entry.description, "option-label"));
      },
      choose: function (input, entry) {
        var row = input.closest("[data-formset-row]");
        var code = rowField(row, "icd10"), text = rowField(row, "text");
        if (code) code.value = entry.code;
        if (text && (input === text || !text.value.trim())) text.value = entry.description;
        if (input === text && code) code.focus();
      }
    });
  }
})();
