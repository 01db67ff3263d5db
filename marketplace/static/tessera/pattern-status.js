(function () {
  const config = document.currentScript.dataset;
  const order = Array.from(document.querySelectorAll("#steps li"), function (li) { return li.dataset.step; });
  function paint(data) {
    const index = order.indexOf(data.step);
    document.querySelectorAll("#steps li").forEach(function (li, i) {
      li.className = (data.status !== "processing" && data.status !== "failed") || i < index ? "done" : (i === index ? "current" : "");
    });
    const status = document.getElementById("status");
    status.textContent = data.status_display; status.className = "status-" + data.status;
    document.getElementById("reason").textContent = data.status_reason || "";
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
