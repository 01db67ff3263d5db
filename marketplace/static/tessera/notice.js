// Takedown notice page: "Copy to clipboard" for the notice text (a static file: the CSP allows no inline script).
(function () {
  var button = document.querySelector("[data-copy-target]");
  if (!button) { return; }
  var source = document.getElementById(button.getAttribute("data-copy-target"));
  var status = document.getElementById("notice-copied");
  if (!source) { return; }
  button.hidden = false;
  function say(text) { if (status) { status.textContent = text; } }
  button.addEventListener("click", function () {
    var text = source.value || source.textContent || "";
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { say("Copied."); }, function () { fallback(); });
    } else {
      fallback();
    }
    function fallback() {
      source.focus();
      source.select();
      var done = false;
      try { done = document.execCommand("copy"); } catch (error) { done = false; }
      say(done ? "Copied." : "Select the text and copy it (Ctrl+C or ⌘C).");
    }
  });
})();
