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
