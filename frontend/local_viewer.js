// The local-only DICOM viewer (/dicom-viewer/): opens DICOM files from the user's own disk and renders
// them in this browser with dwv. Nothing is sent anywhere: files are read with the File API, parsed and
// drawn here; the only requests the page makes are for its own static files, which the service worker
// (/dicom-viewer/sw.js) keeps, so the page keeps working offline once it has loaded.
import { App, AppOptions, DicomParser, Tag, ToolConfig, ViewConfig, WindowLevel, getTagFromKey } from "dwv";

const root = document.getElementById("local-viewer");
const fileInput = document.getElementById("lv-files");
const dropZone = document.getElementById("lv-drop");
const seriesList = document.getElementById("lv-series");
const skippedList = document.getElementById("lv-skipped");
const status = document.getElementById("lv-status");
const toolbar = document.getElementById("lv-toolbar");
const presetSelect = document.getElementById("lv-preset");
const sliceLabel = document.getElementById("lv-slice");
const wlLabel = document.getElementById("lv-wl");
const metaBody = document.getElementById("lv-meta-body");
const metaFilter = document.getElementById("lv-meta-filter");
const stage = document.getElementById("lv-stage");
const emptyState = document.getElementById("lv-empty");

const PIXEL_DATA = new Tag("7FE0", "0010");
// Extra window/level presets (centre, width) by modality; dwv already knows lung, bone, brain,
// mediastinum and head for CT, and each file's own VOI windows.
const EXTRA_PRESETS = { CT: { "soft tissue": [50, 350] } };

let series = []; // [{uid, modality, description, number, patient, study, files: [{file, instance}]}]
let currentDataId = null;
let currentSeries = null;

// --- the dwv application ---------------------------------------------------------------------------
const app = new App();
const options = new AppOptions({ "*": [new ViewConfig("lvImage")] });
options.tools = {
  Scroll: new ToolConfig(),
  WindowLevel: new ToolConfig(),
  ZoomAndPan: new ToolConfig(),
};
app.init(options);

app.addEventListener("loadstart", () => say(root.dataset.msgLoading));
app.addEventListener("loadprogress", (event) => {
  if (event.lengthComputable && event.total) say(`${root.dataset.msgLoading} ${Math.round((100 * event.loaded) / event.total)}%`);
});
app.addEventListener("loaditem", (event) => {
  if (currentDataId === null) currentDataId = event.dataid;
});
app.addEventListener("error", (event) => {
  say(`${root.dataset.msgError} ${event.error && event.error.message ? event.error.message : ""}`.trim(), true);
});
app.addEventListener("load", (event) => {
  currentDataId = event.dataid;
  app.fitToContainer();
  addExtraPresets();
  fillPresets();
  fillMetadata();
  chooseTool(toolbar.querySelector("[aria-pressed='true']")?.dataset.tool || "Scroll");
  updateSlice();
  updateWindow();
  root.dataset.rendered = String(Number(root.dataset.rendered || "0") + 1);
  say(`${root.dataset.msgShown} ${describe(currentSeries)}`);
});
app.addEventListener("positionchange", updateSlice);
app.addEventListener("wlchange", updateWindow);

window.addEventListener("resize", () => app.onResize());

// --- opening files -----------------------------------------------------------------------------------
fileInput.addEventListener("change", () => {
  openFiles(Array.from(fileInput.files || []));
  fileInput.value = "";
});
for (const type of ["dragenter", "dragover"]) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add("is-over");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropZone.addEventListener(type, () => dropZone.classList.remove("is-over"));
}
dropZone.addEventListener("drop", async (event) => {
  event.preventDefault();
  openFiles(await droppedFiles(event.dataTransfer));
});

async function droppedFiles(transfer) {
  // Folders too: walk the entries a drop carries (webkitGetAsEntry), else take the plain files.
  const entries = Array.from(transfer.items || [])
    .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
    .filter(Boolean);
  if (!entries.length) return Array.from(transfer.files || []);
  const files = [];
  const walk = async (entry) => {
    if (entry.isFile) {
      files.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
        if (!batch.length) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) await walk(entry);
  return files;
}

function text(elements, key) {
  const element = elements[key];
  if (!element || !element.value || element.value.length === 0) return "";
  return String(element.value[0]).trim();
}

async function readHeader(file) {
  const buffer = await file.arrayBuffer();
  const parser = new DicomParser();
  parser.parse(buffer, PIXEL_DATA); // the header only: the pixels are dwv's job when shown
  const elements = parser.getDicomElements();
  const uid = text(elements, "0020000E");
  if (!uid) throw new Error("no SeriesInstanceUID");
  return {
    uid,
    modality: text(elements, "00080060"),
    description: text(elements, "0008103E"),
    number: text(elements, "00200011"),
    patient: text(elements, "00100010").replace(/\^/g, " ").trim(),
    study: text(elements, "00081030"),
    date: text(elements, "00080020"),
    instance: Number(text(elements, "00200013")) || 0,
  };
}

async function openFiles(files) {
  if (!files.length) return;
  say(root.dataset.msgReading);
  const skipped = [];
  const byUid = new Map(series.map((one) => [one.uid, one]));
  for (const file of files) {
    let header;
    try {
      header = await readHeader(file);
    } catch (error) {
      skipped.push(file.name);
      continue;
    }
    let one = byUid.get(header.uid);
    if (!one) {
      one = { ...header, files: [] };
      byUid.set(header.uid, one);
    }
    if (!one.files.some((known) => known.file.name === file.name && known.file.size === file.size)) {
      one.files.push({ file, instance: header.instance });
    }
  }
  series = Array.from(byUid.values());
  for (const one of series) one.files.sort((a, b) => a.instance - b.instance);
  showSeriesList();
  showSkipped(skipped);
  if (!series.length) {
    say(root.dataset.msgNothing, true);
    return;
  }
  if (!currentSeries || !series.includes(currentSeries)) showSeries(series[0]);
  else say(`${series.length} ${root.dataset.msgSeriesFound}`);
}

function describe(one) {
  if (!one) return "";
  const parts = [one.modality, one.description || one.study, `(${one.files.length})`].filter(Boolean);
  return parts.join(" ");
}

function showSeriesList() {
  seriesList.replaceChildren();
  for (const one of series) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "lv-series-button";
    button.setAttribute("aria-pressed", String(one === currentSeries));
    const title = document.createElement("strong");
    title.textContent = `${one.modality || "?"} ${one.number ? "#" + one.number : ""}`.trim();
    const detail = document.createElement("span");
    detail.textContent = `${one.description || one.study || ""} · ${one.files.length} ${one.files.length === 1 ? root.dataset.msgImage : root.dataset.msgImages}`;
    const who = document.createElement("span");
    who.className = "muted";
    who.textContent = [one.patient, formatDate(one.date)].filter(Boolean).join(" · ");
    button.append(title, detail, who);
    button.addEventListener("click", () => showSeries(one));
    item.append(button);
    seriesList.append(item);
  }
  seriesList.closest("section").hidden = series.length === 0;
}

function showSkipped(names) {
  skippedList.replaceChildren();
  for (const name of names) {
    const item = document.createElement("li");
    item.textContent = `${name}: ${root.dataset.msgNotDicom}`;
    skippedList.append(item);
  }
  skippedList.hidden = names.length === 0;
}

function formatDate(value) {
  return /^\d{8}$/.test(value) ? `${value.slice(6, 8)}-${value.slice(4, 6)}-${value.slice(0, 4)}` : "";
}

function showSeries(one) {
  currentSeries = one;
  currentDataId = null;
  app.abortAllLoads();
  app.reset();
  for (const button of seriesList.querySelectorAll("button")) button.setAttribute("aria-pressed", "false");
  const index = series.indexOf(one);
  seriesList.querySelectorAll("button")[index]?.setAttribute("aria-pressed", "true");
  // dwv fits the image to its container while loading: the stage must have its size by then.
  emptyState.hidden = true;
  stage.hidden = false;
  app.loadFiles(one.files.map((entry) => entry.file));
}

// --- tools, presets, slices ----------------------------------------------------------------------
function chooseTool(name) {
  if (currentDataId === null) return;
  app.setTool(name);
  for (const button of toolbar.querySelectorAll("[data-tool]")) {
    button.setAttribute("aria-pressed", String(button.dataset.tool === name));
  }
}
toolbar.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.tool) chooseTool(button.dataset.tool);
  if (button.dataset.action === "reset") {
    app.resetDisplay();
    updateWindow();
  }
  if (button.dataset.action === "previous") step(-1);
  if (button.dataset.action === "next") step(1);
});

function viewController() {
  if (currentDataId === null) return null;
  const layers = app.getViewLayersByDataId(currentDataId);
  return layers.length ? layers[0].getViewController() : null;
}

function addExtraPresets() {
  const controller = viewController();
  const modality = currentSeries ? currentSeries.modality : "";
  if (!controller || !EXTRA_PRESETS[modality]) return;
  const presets = {};
  for (const [name, [centre, width]] of Object.entries(EXTRA_PRESETS[modality])) {
    presets[name] = { wl: [new WindowLevel(centre, width)], name };
  }
  controller.addWindowLevelPresets(presets);
}

function fillPresets() {
  const controller = viewController();
  presetSelect.replaceChildren();
  const names = controller ? controller.getWindowLevelPresetsNames() : [];
  const blank = document.createElement("option");
  blank.value = "";
  blank.textContent = root.dataset.msgCustom;
  presetSelect.append(blank);
  for (const name of names) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name === "minmax" ? root.dataset.msgFullRange : name;
    presetSelect.append(option);
  }
  presetSelect.disabled = names.length === 0;
}
presetSelect.addEventListener("change", () => {
  const controller = viewController();
  if (controller && presetSelect.value) controller.setWindowLevelPreset(presetSelect.value);
});

function updateWindow() {
  const controller = viewController();
  if (!controller) return;
  const wl = controller.getWindowLevel();
  wlLabel.textContent = `W ${Math.round(wl.width)} / L ${Math.round(wl.center)}`;
  const name = controller.getCurrentWindowPresetName ? controller.getCurrentWindowPresetName() : "";
  presetSelect.value = name && Array.from(presetSelect.options).some((o) => o.value === name) ? name : "";
}

function step(delta) {
  const group = app.getActiveLayerGroup();
  if (!group || !group.canScroll()) return;
  const helper = group.getPositionHelper();
  if (delta > 0) helper.incrementPositionAlongScroll();
  else helper.decrementPositionAlongScroll();
}

function updateSlice() {
  const group = app.getActiveLayerGroup();
  if (!group || currentDataId === null) return;
  const helper = group.getPositionHelper();
  const current = helper.getCurrentPositionScrollValue() + 1;
  const total = helper.getMaximumScrollValue() + 1;
  sliceLabel.textContent = `${root.dataset.msgSlice} ${current} / ${total}`;
  root.dataset.slice = String(current);
}

stage.addEventListener("keydown", (event) => {
  const keys = { ArrowUp: 1, ArrowRight: 1, PageDown: 1, ArrowDown: -1, ArrowLeft: -1, PageUp: -1 };
  if (event.key in keys) {
    event.preventDefault();
    step(keys[event.key]);
  } else if (event.key === "Home" || event.key === "End") {
    event.preventDefault();
    const group = app.getActiveLayerGroup();
    if (!group) return;
    const helper = group.getPositionHelper();
    const target = event.key === "Home" ? 0 : helper.getMaximumScrollValue();
    let guard = 10000;
    while (helper.getCurrentPositionScrollValue() !== target && guard-- > 0) {
      if (target === 0) helper.decrementPositionAlongScroll();
      else helper.incrementPositionAlongScroll();
    }
  }
});

// --- metadata ------------------------------------------------------------------------------------
function tagName(key) {
  try {
    return getTagFromKey(key).getNameFromDictionary() || "";
  } catch (error) {
    return "";
  }
}

function tagValue(element) {
  if (!element || !element.value) return "";
  if (element.vr === "SQ") return `(${element.value.length} items)`;
  if (["OB", "OW", "OF", "OD", "UN"].includes(element.vr)) return `(${element.vl} bytes)`;
  const values = Array.from(element.value).slice(0, 16).map((value) => String(value));
  return values.join(" \\ ") + (element.value.length > 16 ? " …" : "");
}

function fillMetadata() {
  metaBody.replaceChildren();
  const meta = currentDataId === null ? undefined : app.getMetaData(currentDataId);
  if (!meta) return;
  for (const key of Object.keys(meta).sort()) {
    const element = meta[key];
    const row = document.createElement("tr");
    const tag = document.createElement("td");
    tag.textContent = `(${key.slice(0, 4)},${key.slice(4)})`;
    const name = document.createElement("td");
    name.textContent = tagName(key);
    const vr = document.createElement("td");
    vr.textContent = element.vr || "";
    const value = document.createElement("td");
    value.textContent = tagValue(element);
    row.append(tag, name, vr, value);
    metaBody.append(row);
  }
  filterMetadata();
}
function filterMetadata() {
  const needle = metaFilter.value.trim().toLowerCase();
  for (const row of metaBody.rows) row.hidden = needle !== "" && !row.textContent.toLowerCase().includes(needle);
}
metaFilter.addEventListener("input", filterMetadata);

// --- status and offline --------------------------------------------------------------------------
function say(message, isError = false) {
  status.textContent = message;
  status.classList.toggle("error", isError);
}

if ("serviceWorker" in navigator && root.dataset.serviceWorker) {
  navigator.serviceWorker
    .register(root.dataset.serviceWorker, { scope: root.dataset.scope })
    .then(() => navigator.serviceWorker.ready)
    .then(() => {
      root.dataset.offlineReady = "true";
    })
    .catch(() => {
      root.dataset.offlineReady = "false";
    });
}
root.dataset.ready = "true";
