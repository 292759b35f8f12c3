// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Strings come from the djangojs catalog (/jsi18n/, loaded first by base.html).
  var gettext = window.gettext || function (text) { return text; };
  // Copy buttons: <button data-copy-target="#id">Copy</button>
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-copy-target"));
    if (!target || !navigator.clipboard) return;
    var text = target.matches("input, textarea") ? target.value : target.textContent;
    navigator.clipboard.writeText(text).then(function () {
      var label = button.textContent;
      button.textContent = gettext("Copied");
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
  // A search typed (or restored by the browser on Back) before htmx bound its listeners
  // would sit in the box unsent while the list below ignores it. htmx runs its onLoad
  // callbacks once it has processed the page: replay each such search then, as both
  // events a search box can be listened to by ("search", and "input" for filter forms).
  if (window.htmx) {
    window.htmx.onLoad(function (root) {
      if (root !== document.body) return;
      document.querySelectorAll("input[type=search]").forEach(function (input) {
        if (input.value === input.defaultValue) return;
        input.dispatchEvent(new Event("search", { bubbles: true }));
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
  }
  // Confirmation for dangerous actions: <form data-confirm="Really?">
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
