// Imaging upload: DICOM files, a folder (webkitdirectory) or ZIPs, sent in chunks with a progress bar,
// resumable (the server says which chunks it holds), then indexed by the `imaging` queue while this
// page polls the progress. No third-party code.
(function () {
  "use strict";
  const form = document.querySelector("[data-imaging-upload]");
  if (!form) return;
  const el = function (name) { return form.querySelector("[data-" + name + "]"); };
  const filesInput = el("files"), folderInput = el("folder"), locationSelect = el("location");
  const summary = el("summary"), go = el("go"), progress = el("progress"), errorBox = el("error"), done = el("done");
  const send = el("send"), sendLabel = el("send-label"), index = el("index"), indexLabel = el("index-label");
  const chunkBytes = parseInt(form.dataset.chunkBytes, 10) || 4 * 1024 * 1024;
  const maxFiles = parseInt(form.dataset.maxFiles, 10) || 5000;
  const PARALLEL = 3;  // chunks in flight at once (small files are one chunk each)
  const SKIP = /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini)$|(^|\/)\._/i;

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function chosen() {
    const all = Array.from(filesInput.files || []).concat(Array.from(folderInput.files || []));
    return all.filter(function (f) { return f.size > 0 && !SKIP.test(f.webkitRelativePath || f.name); });
  }

  function humanSize(n) {
    if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  function refreshSummary() {
    const files = chosen();
    const total = files.reduce(function (s, f) { return s + f.size; }, 0);
    summary.textContent = files.length ? files.length + " file" + (files.length === 1 ? "" : "s") + " chosen, " + humanSize(total) + "." : "No files chosen.";
  }
  filesInput.addEventListener("change", refreshSummary);
  folderInput.addEventListener("change", refreshSummary);

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    go.disabled = false;
  }

  function firstError(data) {
    if (!data || !data.errors) return "The upload failed; try again.";
    const key = Object.keys(data.errors)[0];
    return data.errors[key][0];
  }

  async function post(url, body) {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" } });
        const data = await r.json().catch(function () { return null; });
        if (r.ok) return data;
        if (r.status >= 500 && attempt < 4) throw new Error("server");
        throw Object.assign(new Error(firstError(data)), { permanent: true });
      } catch (err) {
        if (err.permanent || attempt >= 4) throw err;
        await new Promise(function (resolve) { setTimeout(resolve, 500 * Math.pow(2, attempt)); });
      }
    }
  }

  async function getJson(url) {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
    if (!r.ok) throw new Error("The upload's progress could not be read.");
    return r.json();
  }

  function storageKey(files) {
    const sig = files.map(function (f) { return (f.webkitRelativePath || f.name) + ":" + f.size + ":" + f.lastModified; }).join("|");
    let h = 0;
    for (let i = 0; i < sig.length; i++) h = (h * 31 + sig.charCodeAt(i)) | 0;
    return "imaging-upload:" + form.dataset.startUrl + ":" + h;
  }

  async function startOrResume(files) {
    const key = storageKey(files);
    const previous = sessionStorage.getItem(key);
    if (previous) {
      try {
        const state = await getJson("/imaging/uploads/" + previous + "/received");
        if (state.status === "receiving") return { upload: state, received: new Set(state.received.map(function (p) { return p[0] + ":" + p[1]; })), key: key };
      } catch (err) { /* start again */ }
    }
    const body = new FormData();
    body.append("files", String(files.length));
    if (locationSelect) body.append("location", locationSelect.value);
    const upload = await post(form.dataset.startUrl, body);
    sessionStorage.setItem(key, upload.id);
    return { upload: upload, received: new Set(), key: key };
  }

  async function poll(upload) {
    for (;;) {
      const state = await getJson(upload.status_url);
      index.value = state.percent;
      indexLabel.textContent = state.status_label + " · " + state.files_done + " of " + state.files_total + " files · " + state.stored + " stored" +
        (state.duplicates ? " · " + state.duplicates + " already there" : "") + (state.errors ? " · " + state.errors + " errors" : "") + (state.skipped ? " · " + state.skipped + " skipped" : "") +
        (state.warnings ? " · " + state.warnings + " warning" + (state.warnings === 1 ? "" : "s") + " (see the report)" : "");
      if (state.finished) return state;
      await new Promise(function (resolve) { setTimeout(resolve, 1000); });
    }
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    errorBox.hidden = true;
    done.hidden = true;
    const files = chosen();
    if (!files.length) { fail("Choose DICOM files, a folder or a ZIP first."); return; }
    if (files.length > maxFiles) { fail("Upload at most " + maxFiles + " files at a time, or put them in a ZIP."); return; }
    go.disabled = true;
    progress.hidden = false;
    const total = files.reduce(function (s, f) { return s + f.size; }, 0);
    let sent = 0;
    try {
      const job = await startOrResume(files);
      const upload = job.upload;
      const pieces = [];
      files.forEach(function (file, i) {
        const count = Math.max(1, Math.ceil(file.size / chunkBytes));
        for (let c = 0; c < count; c++) pieces.push({ file: file, index: i, chunk: c, count: count });
      });
      let next = 0, filesSent = 0;
      async function sender() {  // PARALLEL senders share the list; each chunk is sent once
        while (next < pieces.length) {
          const item = pieces[next++];
          const piece = item.file.slice(item.chunk * chunkBytes, Math.min(item.file.size, (item.chunk + 1) * chunkBytes));
          if (!job.received.has(item.index + ":" + item.chunk)) {
            const body = new FormData();
            body.append("file_index", String(item.index));
            body.append("chunk_index", String(item.chunk));
            body.append("chunk_count", String(item.count));
            body.append("name", item.file.webkitRelativePath || item.file.name);
            body.append("chunk", piece, "chunk");
            await post(upload.chunk_url, body);
          }
          sent += piece.size;
          if (item.chunk === item.count - 1) filesSent += 1;
          send.value = total ? Math.round(100 * sent / total) : 100;
          sendLabel.textContent = humanSize(sent) + " of " + humanSize(total) + " · " + filesSent + " of " + files.length + " files";
        }
      }
      const senders = [];
      for (let k = 0; k < PARALLEL; k++) senders.push(sender());
      await Promise.all(senders);
      const queued = await post(upload.submit_url, new FormData());
      sessionStorage.removeItem(job.key);
      const final = await poll(queued);
      el("report-link").href = final.page_url;
      done.hidden = false;
      go.disabled = false;
      if (final.status === "failed") fail("Processing stopped; the report says what was kept.");
    } catch (err) {
      fail(err.message + " Choose the same files again to carry on where it stopped.");
    }
  });
})();
