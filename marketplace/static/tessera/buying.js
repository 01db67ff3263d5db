// Library, orders and receipts: times in the reader's own time zone, and the receipt's print button.
// <time datetime="ISO" data-local-time>…UTC</time>: the server writes UTC as the fallback text; this
// rewrites it in the browser's locale and zone and keeps the UTC text as a tooltip.
(function () {
  var format = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"});
  document.querySelectorAll("time[data-local-time]").forEach(function (element) {
    var when = new Date(element.getAttribute("datetime"));
    if (isNaN(when.getTime())) { return; }
    element.title = element.textContent.trim();
    element.textContent = format.format(when);
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
