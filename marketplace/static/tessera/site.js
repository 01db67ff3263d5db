// Small behaviours every page may use, declared with data- attributes instead of inline event handlers
// (the Content-Security-Policy allows no inline script).
document.addEventListener("change", function (event) {
  // <select data-autosubmit>: choosing an option submits its form (the search filters).
  if (event.target.matches("[data-autosubmit]") && event.target.form) { event.target.form.submit(); }
});
document.addEventListener("submit", function (event) {
  // <form data-disable-on-submit>: one click, one request (checkout start).
  if (event.target.matches("[data-disable-on-submit]")) {
    event.target.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
  }
});
document.addEventListener("click", function (event) {
  var target = event.target instanceof Element ? event.target : null;
  if (!target) { return; }
  // The header's search icon (phones): show the search field and put the cursor in it. Without script the
  // icon is a plain link to the search page.
  var toggle = target.closest("[data-search-toggle]");
  if (toggle) {
    event.preventDefault();
    var bar = toggle.closest(".bar");
    var open = bar.classList.toggle("search-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { bar.querySelector("input[type=search]").focus(); }
    return;
  }
  // Drawers (.layout-sidebar > aside on phones): [data-drawer-open="id"] opens, [data-drawer-close] shuts.
  var opener = target.closest("[data-drawer-open]");
  if (opener) {
    var drawer = document.getElementById(opener.getAttribute("data-drawer-open"));
    if (drawer) {
      event.preventDefault();
      drawerOpen(drawer, opener);
    }
    return;
  }
  if (target.closest("[data-drawer-close]") || target.matches(".drawer-backdrop")) {
    event.preventDefault();
    drawerClose();
    return;
  }
  // Close an open account menu when clicking elsewhere.
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    if (!menu.contains(target)) { menu.removeAttribute("open"); }
  });
});
var drawerState = null;
function drawerOpen(drawer, opener) {
  var backdrop = document.createElement("div");
  backdrop.className = "drawer-backdrop";
  drawer.parentNode.insertBefore(backdrop, drawer);
  drawer.classList.add("open");
  drawer.setAttribute("tabindex", "-1");
  opener.setAttribute("aria-expanded", "true");
  drawerState = { drawer: drawer, opener: opener, backdrop: backdrop };
  drawer.focus();
}
function drawerClose() {
  if (!drawerState) { return; }
  drawerState.drawer.classList.remove("open");
  drawerState.backdrop.remove();
  drawerState.opener.setAttribute("aria-expanded", "false");
  drawerState.opener.focus();
  drawerState = null;
}
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  if (drawerState) { drawerClose(); return; }
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    menu.removeAttribute("open");
    menu.querySelector("summary").focus();
  });
});
