(function () {
  const config = document.currentScript.dataset;
  const order = Array.from(document.querySelectorAll("#steps li"), function (li) { return li.dataset.step; });
  function paint(data) {
    const index = order.indexOf(data.step);
    // Tagging is a step: "Ready" only once the tags are in (data.step === "ready").
    const finished = data.step === "ready" || (data.done && data.status !== "failed");
    document.querySelectorAll("#steps li").forEach(function (li, i) {
      li.className = finished || i < index ? "done" : (i === index && data.status !== "failed" ? "current" : "");
    });
    const status = document.getElementById("status");
    status.textContent = data.status_display + (data.status === "needs_review" && data.step !== "ready" ? " · still tagging" : "");
    status.className = "status-" + data.status;
    const live = document.getElementById("tags-live");
    if (live) {
      live.textContent = "";
      data.tags.forEach(function (name) {
        const badge = document.createElement("span"); badge.className = "badge ok"; badge.textContent = name; live.appendChild(badge);
      });
      data.suggested.forEach(function (name) {
        const badge = document.createElement("span"); badge.className = "badge"; badge.textContent = name + " (suggested)"; live.appendChild(badge);
      });
    }
    const attributes = document.getElementById("attributes");
    if (attributes && data.attributes.length) {
      attributes.textContent = "";
      data.attributes.forEach(function (a) {
        const badge = document.createElement("span"); badge.className = "badge info"; badge.textContent = a.kind + ": " + a.name; attributes.appendChild(badge);
      });
    }
    // A new version in progress: its status as the checks end (the list below is as the page was loaded).
    const versionLive = document.getElementById("version-live");
    if (versionLive && data.version && String(data.version.number) === versionLive.dataset.number &&
        data.version.status !== versionLive.dataset.status) {
      versionLive.dataset.status = data.version.status;
      const name = "Version " + data.version.number;
      let text = name + " is " + data.version.status_display.toLowerCase() + ".";
      if (data.version.status === "needs_review") { text = name + " passed the checks; a moderator will review it."; }
      else if (data.version.status === "failed") { text = name + " failed the checks: " + (data.version.status_reason || "") + " Reload the page to upload a corrected version."; }
      versionLive.textContent = text;
    }
    document.getElementById("reason").textContent = data.awaiting_payouts ? "" : (data.status_reason || "");
    const table = document.getElementById("files");
    table.textContent = "";
    data.files.forEach(function (f) {
      const row = table.insertRow();
      [f.name, f.format, f.status].forEach(function (text) { row.insertCell().textContent = text; });
      const cell = row.insertCell();
      f.findings.forEach(function (finding) {
        const line = document.createElement("div");
        line.className = "finding " + finding.severity;
        line.title = finding.code;
        line.textContent = finding.severity + ": " + finding.message;
        cell.appendChild(line);
      });
    });
  }
  function poll() {
    fetch(config.statusUrl, {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) { paint(data); if (!data.done) { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
