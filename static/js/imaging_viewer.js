// Imaging viewer: frames are PNGs rendered by the server (window/level applied there); this script
// scrolls slices (wheel, keys, touch, slider), pans, zooms, measures in millimetres (pixel spacing)
// and asks for a new window when dragged or when a preset is chosen. No third-party code.
(function () {
  "use strict";
  const root = document.querySelector("[data-imaging-viewer]");
  if (!root) return;
  const stage = root.querySelector("[data-stage]");
  const canvas = root.querySelector("[data-canvas]");
  const ctx = canvas.getContext("2d");
  const slider = root.querySelector("[data-slider]");
  const statusEl = root.querySelector("[data-status]");
  const info = {
    series: root.querySelector("[data-info-series]"),
    slice: root.querySelector("[data-info-slice]"),
    window: root.querySelector("[data-info-window]"),
    zoom: root.querySelector("[data-info-zoom]"),
  };
  const meta = root.querySelector("[data-meta]");
  const metaRows = root.querySelector("[data-meta-rows]");
  const metaFilter = root.querySelector("[data-meta-filter]");

  const state = {
    manifest: null, series: null, slices: [], index: 0, tool: "scroll",
    window: null, zoom: 1, panX: 0, panY: 0, image: null, measures: [], drawing: null,
    loadToken: 0, metaFor: null,
  };
  const imageCache = new Map();
  const CACHE_MAX = 160;
  // Where the images are: the clinic's own URLs, or a share link's (imaging/share_views.py).
  const imageBase = root.dataset.imageBase || "/imaging/images/";

  function frameUrl(slice, thumb) {
    let url = imageBase + slice.image.id + "/frames/" + slice.frame + ".png";
    const params = [];
    if (thumb) params.push("thumb=1");
    else if (state.window && !slice.image.colour) params.push("wc=" + Math.round(state.window[0]), "ww=" + Math.round(state.window[1]));
    return params.length ? url + "?" + params.join("&") : url;
  }

  function load(url) {
    if (imageCache.has(url)) return imageCache.get(url);
    const promise = new Promise(function (resolve, reject) {
      const img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { reject(new Error("The image could not be shown.")); };
      img.src = url;
    });
    promise.catch(function () { imageCache.delete(url); });
    imageCache.set(url, promise);
    if (imageCache.size > CACHE_MAX) imageCache.delete(imageCache.keys().next().value);
    return promise;
  }

  function showStatus(text) { statusEl.textContent = text || ""; statusEl.hidden = !text; }

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = stage.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    draw();
  }

  function baseScale(img) {
    return Math.min(canvas.width / img.naturalWidth, canvas.height / img.naturalHeight);
  }

  function transform() {
    const img = state.image;
    const scale = baseScale(img) * state.zoom;
    const x = (canvas.width - img.naturalWidth * scale) / 2 + state.panX;
    const y = (canvas.height - img.naturalHeight * scale) / 2 + state.panY;
    return { scale: scale, x: x, y: y };
  }

  function toImage(event) {
    const rect = canvas.getBoundingClientRect();
    const ratio = canvas.width / rect.width;
    const t = transform();
    return { x: ((event.clientX - rect.left) * ratio - t.x) / t.scale, y: ((event.clientY - rect.top) * ratio - t.y) / t.scale };
  }

  function distance(m) {
    const slice = state.slices[state.index];
    const spacing = slice && slice.image.spacing;
    const scaleX = state.image ? slice.image.columns / state.image.naturalWidth : 1;
    const scaleY = state.image ? slice.image.rows / state.image.naturalHeight : 1;
    const dx = (m.b.x - m.a.x) * scaleX, dy = (m.b.y - m.a.y) * scaleY;
    if (spacing) return (Math.hypot(dx * spacing[1], dy * spacing[0])).toFixed(1) + " mm";
    return Math.hypot(dx, dy).toFixed(0) + " px (no pixel spacing)";
  }

  function draw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!state.image) return;
    const t = transform();
    ctx.imageSmoothingEnabled = state.zoom < 3;
    ctx.drawImage(state.image, t.x, t.y, state.image.naturalWidth * t.scale, state.image.naturalHeight * t.scale);
    const ratio = window.devicePixelRatio || 1;
    const list = state.measures.filter(function (m) { return m.slice === state.index; });
    if (state.drawing) list.push(state.drawing);
    ctx.lineWidth = 2 * ratio;
    ctx.font = (13 * ratio) + "px sans-serif";
    list.forEach(function (m) {
      const ax = t.x + m.a.x * t.scale, ay = t.y + m.a.y * t.scale, bx = t.x + m.b.x * t.scale, by = t.y + m.b.y * t.scale;
      ctx.strokeStyle = "#ffd54f"; ctx.fillStyle = "#ffd54f";
      ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
      [[ax, ay], [bx, by]].forEach(function (p) { ctx.beginPath(); ctx.arc(p[0], p[1], 3 * ratio, 0, 2 * Math.PI); ctx.fill(); });
      ctx.fillText(distance(m), bx + 6 * ratio, by - 6 * ratio);
    });
    info.zoom.textContent = "Zoom " + Math.round(state.zoom * 100) + "%";
  }

  function updateInfo() {
    const slice = state.slices[state.index];
    if (!slice) return;
    const s = state.series;
    info.series.textContent = (s.modality || "") + (s.number != null ? "  Series " + s.number : "") + (s.description ? "\n" + s.description : "");
    info.slice.textContent = "Image " + (state.index + 1) + " / " + state.slices.length +
      (slice.image.frames > 1 ? "\nFrame " + (slice.frame + 1) + " / " + slice.image.frames : "") +
      (slice.image.number != null ? "\nInstance " + slice.image.number : "");
    if (slice.image.colour) info.window.textContent = "Colour image";
    else if (state.window) info.window.textContent = "W " + Math.round(state.window[1]) + "  L " + Math.round(state.window[0]);
    else info.window.textContent = slice.image.window ? "W " + Math.round(slice.image.window[1]) + "  L " + Math.round(slice.image.window[0]) : "Auto window";
  }

  function show(index) {
    if (!state.slices.length) return;
    state.index = Math.max(0, Math.min(state.slices.length - 1, index));
    slider.value = String(state.index);
    updateInfo();
    const token = ++state.loadToken;
    const slice = state.slices[state.index];
    load(frameUrl(slice, false)).then(function (img) {
      if (token !== state.loadToken) return;
      state.image = img; showStatus(""); draw();
      prefetch();
    }, function (err) {
      if (token !== state.loadToken) return;
      showStatus(err.message);
    });
    if (state.metaFor && meta && !meta.hidden) loadMeta();
  }

  function prefetch() {
    for (let d = 1; d <= 3; d++) {
      [state.index + d, state.index - d].forEach(function (i) {
        if (i >= 0 && i < state.slices.length) load(frameUrl(state.slices[i], false)).catch(function () {});
      });
    }
  }

  function selectSeries(id) {
    const series = state.manifest.series.find(function (s) { return s.id === id; }) || state.manifest.series[0];
    if (!series) return;
    state.series = series;
    state.slices = [];
    series.images.forEach(function (image) {
      for (let f = 0; f < image.frames; f++) state.slices.push({ image: image, frame: f });
    });
    root.querySelectorAll("[data-series]").forEach(function (b) { b.setAttribute("aria-current", b.dataset.series === series.id ? "true" : "false"); });
    slider.max = String(Math.max(0, state.slices.length - 1));
    state.window = null; state.measures = []; state.zoom = 1; state.panX = 0; state.panY = 0;
    show(Math.floor((state.slices.length - 1) / 2));
  }

  function setTool(tool) {
    state.tool = tool;
    root.querySelectorAll("[data-tool]").forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.tool === tool ? "true" : "false"); });
  }

  let windowTimer = null;
  function setWindow(win, immediate) {
    state.window = win;
    updateInfo();
    clearTimeout(windowTimer);
    windowTimer = setTimeout(function () { show(state.index); }, immediate ? 0 : 150);
  }

  function currentWindow() {
    const slice = state.slices[state.index];
    if (state.window) return state.window.slice();
    if (slice && slice.image.window) return slice.image.window.slice();
    return [40, 400];
  }

  // --- pointer: one active pointer applies the tool; two pointers pinch-zoom ---------------------------
  const pointers = new Map();
  let drag = null;
  stage.addEventListener("pointerdown", function (event) {
    stage.focus();
    stage.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pointers.size === 2) { drag = { pinch: pinchDistance(), zoom: state.zoom }; return; }
    const tool = event.button === 2 ? "zoom" : event.button === 1 ? "pan" : state.tool;
    drag = { tool: tool, x: event.clientX, y: event.clientY, index: state.index, window: currentWindow(), zoom: state.zoom, panX: state.panX, panY: state.panY };
    if (tool === "measure" && state.image) {
      const p = toImage(event);
      state.drawing = { slice: state.index, a: p, b: p };
    }
  });
  stage.addEventListener("contextmenu", function (event) { event.preventDefault(); });
  function pinchDistance() {
    const p = Array.from(pointers.values());
    return Math.hypot(p[0].x - p[1].x, p[0].y - p[1].y) || 1;
  }
  stage.addEventListener("pointermove", function (event) {
    if (!pointers.has(event.pointerId) || !drag) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (drag.pinch) { state.zoom = Math.max(0.25, Math.min(20, drag.zoom * pinchDistance() / drag.pinch)); draw(); return; }
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    const ratio = window.devicePixelRatio || 1;
    if (drag.tool === "scroll") {
      const step = Math.max(4, stage.clientHeight / Math.max(state.slices.length, 1) / 2);
      const target = drag.index + Math.round(dy / step);
      if (target !== state.index) show(target);
    } else if (drag.tool === "window") {
      const slice = state.slices[state.index];
      if (slice && slice.image.colour) return;
      const gain = Math.max(1, drag.window[1] / 200);
      setWindow([drag.window[0] + dy * gain, Math.max(1, drag.window[1] + dx * gain)], false);
    } else if (drag.tool === "pan") {
      state.panX = drag.panX + dx * ratio; state.panY = drag.panY + dy * ratio; draw();
    } else if (drag.tool === "zoom") {
      state.zoom = Math.max(0.25, Math.min(20, drag.zoom * Math.exp(-dy / 150))); draw();
    } else if (drag.tool === "measure" && state.drawing) {
      state.drawing.b = toImage(event); draw();
    }
  });
  function endPointer(event) {
    pointers.delete(event.pointerId);
    if (state.drawing) {
      const m = state.drawing;
      state.drawing = null;
      if (Math.hypot(m.b.x - m.a.x, m.b.y - m.a.y) > 1) {
        state.measures.push(m);
        root.querySelector("[data-measure]").textContent = "Distance: " + distance(m);
      }
      draw();
    }
    if (pointers.size === 0) drag = null;
  }
  stage.addEventListener("pointerup", endPointer);
  stage.addEventListener("pointercancel", endPointer);

  stage.addEventListener("wheel", function (event) {
    event.preventDefault();
    if (event.ctrlKey) { state.zoom = Math.max(0.25, Math.min(20, state.zoom * Math.exp(-event.deltaY / 300))); draw(); return; }
    show(state.index + (event.deltaY > 0 ? 1 : -1));
  }, { passive: false });

  stage.addEventListener("keydown", function (event) {
    const keys = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 };
    if (event.key in keys) { event.preventDefault(); show(state.index + keys[event.key]); }
    else if (event.key === "Home") { event.preventDefault(); show(0); }
    else if (event.key === "End") { event.preventDefault(); show(state.slices.length - 1); }
  });
  slider.addEventListener("input", function () { show(parseInt(slider.value, 10) || 0); });

  root.querySelectorAll("[data-tool]").forEach(function (b) { b.addEventListener("click", function () { setTool(b.dataset.tool); }); });
  root.querySelectorAll("[data-preset]").forEach(function (b) {
    b.addEventListener("click", function () {
      if (b.dataset.preset === "default") { setWindow(null, true); return; }
      const parts = b.dataset.preset.split(",").map(Number);
      setWindow([parts[0], parts[1]], true);
    });
  });
  root.querySelectorAll("[data-series]").forEach(function (b) { b.addEventListener("click", function () { selectSeries(b.dataset.series); }); });
  root.querySelector("[data-action=reset]").addEventListener("click", function () {
    state.zoom = 1; state.panX = 0; state.panY = 0; setWindow(null, true);
  });
  root.querySelector("[data-action=clear]").addEventListener("click", function () {
    state.measures = []; root.querySelector("[data-measure]").textContent = ""; draw();
  });

  // --- metadata panel ------------------------------------------------------------------------------------
  const metaButton = root.querySelector("[data-action=metadata]");
  function loadMeta() {
    const slice = state.slices[state.index];
    if (!slice || state.metaFor === slice.image.id && metaRows.childElementCount) return;
    state.metaFor = slice.image.id;
    fetch(imageBase + slice.image.id + "/metadata", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("The metadata could not be read.")); })
      .then(function (data) {
        metaRows.textContent = "";
        data.elements.forEach(function (el) {
          const tr = document.createElement("tr");
          [el.tag, el.name, el.value].forEach(function (text, i) {
            const td = document.createElement(i === 1 ? "th" : "td");
            if (i === 1) td.scope = "row";
            td.textContent = text;
            tr.appendChild(td);
          });
          metaRows.appendChild(tr);
        });
        applyMetaFilter();
      })
      .catch(function (err) { metaRows.textContent = ""; const tr = document.createElement("tr"); const td = document.createElement("td"); td.textContent = err.message; tr.appendChild(td); metaRows.appendChild(tr); });
  }
  function applyMetaFilter() {
    const q = (metaFilter.value || "").toLowerCase();
    metaRows.querySelectorAll("tr").forEach(function (tr) { tr.hidden = q && tr.textContent.toLowerCase().indexOf(q) < 0; });
  }
  metaFilter.addEventListener("input", applyMetaFilter);
  metaButton.addEventListener("click", function () {
    meta.hidden = !meta.hidden;
    metaButton.setAttribute("aria-expanded", meta.hidden ? "false" : "true");
    root.classList.toggle("meta-open", !meta.hidden);
    if (!meta.hidden) { state.metaFor = null; loadMeta(); }
    resize();
  });

  // --- start -----------------------------------------------------------------------------------------------
  window.addEventListener("resize", resize);
  fetch(root.dataset.manifestUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error("The study could not be opened.")); })
    .then(function (manifest) {
      state.manifest = manifest;
      manifest.series.forEach(function (s) {
        const box = root.querySelector('[data-thumb="' + s.id + '"]');
        const image = s.images[Math.floor(s.images.length / 2)];
        if (box && image) {
          const img = document.createElement("img");
          img.alt = "";
          img.loading = "lazy";
          img.src = imageBase + image.id + "/frames/0.png?thumb=1";
          box.appendChild(img);
        }
      });
      resize();
      if (manifest.series.length) selectSeries(manifest.series[0].id);
      else showStatus("This study has no images to show.");
    })
    .catch(function (err) { showStatus(err.message); });
})();
