// Search and category pages: the filters sidebar is a <details> drawer on phones, open beside the results on
// wider screens. Keyboard: the summary opens it, Close or Escape closes it and gives focus back to the summary.
(function () {
  var drawer = document.querySelector("[data-filters-drawer]");
  if (!drawer) { return; }
  var summary = drawer.querySelector("summary");
  var wide = window.matchMedia("(min-width: 800px)");
  function fit() { drawer.open = wide.matches; }
  fit();
  if (wide.addEventListener) { wide.addEventListener("change", fit); }
  function close() {
    if (wide.matches) { return; }
    drawer.open = false;
    summary.focus();
  }
  drawer.addEventListener("toggle", function () {
    if (drawer.open && !wide.matches) {
      var first = drawer.querySelector("[data-filters-close]");
      if (first) { first.focus(); }
    }
  });
  drawer.querySelectorAll("[data-filters-close]").forEach(function (button) {
    button.addEventListener("click", close);
  });
  drawer.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && drawer.open) { event.preventDefault(); close(); }
  });
})();
