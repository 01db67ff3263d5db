// Progressive enhancement: upload with XHR to show progress; without JavaScript the form posts normally.
// Files of data-chunk-threshold bytes and more go first through resumable chunked uploads.
(function () {
  const form = document.getElementById("pattern-form");
  const threshold = Number(document.currentScript.dataset.chunkThreshold);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const bar = document.querySelector("#upload-progress > div");
  const label = document.getElementById("upload-label");
  const button = document.getElementById("submit");
  const uploaded = new Map();

  function showProgress(done, total, text) {
    const pct = total ? Math.round(100 * done / total) : 0;
    bar.style.width = pct + "%";
    label.textContent = text + " " + pct + "%";
  }

  async function api(method, url, body, headers) {
    const response = await fetch(url, {method: method, body: body, credentials: "same-origin",
      headers: Object.assign({"X-CSRFToken": csrf}, headers || {})});
    const data = await response.json().catch(function () { return {}; });
    return {status: response.status, data: data};
  }

  async function chunkedUpload(file, onProgress) {
    const started = await api("POST", "/api/v1/uploads/", JSON.stringify({filename: file.name, size: file.size}),
      {"Content-Type": "application/json"});
    if (started.status !== 201) { throw new Error(file.name + ": " + (started.data.detail || JSON.stringify(started.data))); }
    const session = started.data;
    let offset = 0, failures = 0;
    while (offset < file.size) {
      const end = Math.min(offset + session.chunk_size, file.size);
      let result;
      try {
        result = await api("PUT", "/api/v1/uploads/" + session.id + "/", file.slice(offset, end),
          {"Content-Type": "application/octet-stream", "Content-Range": "bytes " + offset + "-" + (end - 1) + "/" + file.size});
      } catch (networkError) {
        result = {status: 0, data: {}};
      }
      if (result.status === 200 || result.status === 409) {
        offset = result.data.offset; failures = 0;  // 409: the server tells us where to resume
      } else {
        failures += 1;
        if (failures > 5) { throw new Error(file.name + ": the connection keeps failing; try again later."); }
        await new Promise(function (resolve) { setTimeout(resolve, 1000 * failures); });
        const status = await api("GET", "/api/v1/uploads/" + session.id + "/");
        if (status.status === 200) { offset = status.data.offset; }
      }
      onProgress(offset);
    }
    return session.id;
  }

  function showErrors(errors) {
    Object.keys(errors).forEach(function (name) {
      const target = document.querySelector('.field-errors[data-field="' + name + '"]') || document.getElementById("form-errors");
      const list = document.createElement("ul"); list.className = "errorlist";
      errors[name].forEach(function (err) { const li = document.createElement("li"); li.textContent = err.message; list.appendChild(li); });
      target.appendChild(list);
    });
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    document.getElementById("upload-progress").hidden = false;
    button.disabled = true;
    document.querySelectorAll(".field-errors").forEach(function (el) { el.textContent = ""; });
    document.getElementById("form-errors").textContent = "";
    const data = new FormData(form);
    const files = Array.from(form.querySelector("input[name=files]").files);
    const large = files.filter(function (f) { return f.size >= threshold; });
    data.delete("files");
    files.filter(function (f) { return f.size < threshold; }).forEach(function (f) { data.append("files", f); });
    try {
      const total = large.reduce(function (sum, f) { return sum + f.size; }, 0);
      let before = 0;
      for (const file of large) {
        const id = uploaded.get(file) || await chunkedUpload(file, function (offset) { showProgress(before + offset, total, "Uploading large files…"); });
        uploaded.set(file, id);  // a retry after "busy" (503) or 429 sends the same session, not the bytes again
        data.append("uploads", id);
        before += file.size;
      }
    } catch (error) {
      button.disabled = false;
      showErrors({"__all__": [{"message": error.message + " Nothing was saved."}]});
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { showProgress(e.loaded, e.total, e.loaded < e.total ? "Uploading…" : "Checking your files…"); }
    });
    xhr.addEventListener("load", function () {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200 && body.redirect) { window.location = body.redirect; return; }
      button.disabled = false;
      label.textContent = "";
      bar.style.width = "0";
      showErrors(body.errors || {"__all__": [{"message": "The upload failed (" + xhr.status + "). Nothing was saved; please try again."}]});
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      label.textContent = "The connection was lost during the upload. Nothing was saved; please try again.";
    });
    xhr.open("POST", window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.send(data);
  });
})();
