// Moderation console keys: A approve, R reject (then 1-9 picks a reason), N or J next, Esc closes the
// reject panel. Keys are ignored while typing in a field or with a modifier held.
(function () {
  "use strict";
  var panel = document.getElementById("reject-panel");
  var toggle = document.querySelector('button[data-key="r"]');

  function typing(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function setPanel(open) {
    if (!panel || !toggle) return;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = panel.querySelector(".mod-reason");
      if (first) first.focus();
    } else {
      toggle.focus();
    }
  }

  if (toggle) {
    toggle.addEventListener("click", function () {
      setPanel(panel.hidden);
    });
  }

  // One decision per page: a second submit (double click, key repeat) is dropped here; the server
  // answers a repeated decision with a message anyway.
  var submitted = false;
  Array.prototype.forEach.call(document.querySelectorAll("form[data-decision]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (submitted) {
        event.preventDefault();
        return;
      }
      submitted = true;
      document.documentElement.classList.add("mod-busy");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (event.key === "Escape" && panel && !panel.hidden) {
      setPanel(false);
      return;
    }
    if (typing(event.target)) return;
    var key = (event.key || "").toLowerCase();
    if (key === "j") key = "n";
    if (/^[1-9]$/.test(key) && (!panel || panel.hidden)) return;
    var target = document.querySelector('[data-key="' + key + '"]');
    if (!target) return;
    event.preventDefault();
    target.click();
  });
})();
