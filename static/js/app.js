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
  // A search typed, a box ticked or an option chosen (or restored by the browser on
  // Back) before htmx bound its listeners would sit there unsent while the page ignores
  // it. htmx runs its onLoad callbacks once it has processed the page: replay then each
  // control whose state differs from what the page rendered, as the events it can be
  // listened to by ("search" and "input" for a search box, "change" for a choice).
  function chosenSinceRendered(control) {
    if (control.type === "radio") return control.checked && !control.defaultChecked;
    if (control.type === "checkbox") return control.checked !== control.defaultChecked;
    var options = Array.prototype.slice.call(control.options);
    if (control.multiple) {
      return options.some(function (option) { return option.selected !== option.defaultSelected; });
    }
    var rendered = options.findIndex(function (option) { return option.defaultSelected; });
    return control.selectedIndex !== Math.max(rendered, 0);
  }
  if (window.htmx) {
    window.htmx.onLoad(function (root) {
      if (root !== document.body) return;
      document.querySelectorAll("input[type=search]").forEach(function (input) {
        if (input.value === input.defaultValue) return;
        input.dispatchEvent(new Event("search", { bubbles: true }));
        input.dispatchEvent(new Event("input", { bubbles: true }));
      });
      document.querySelectorAll("input[type=checkbox], input[type=radio], select").forEach(
        function (control) {
          if (!chosenSinceRendered(control)) return;
          control.dispatchEvent(new Event("change", { bubbles: true }));
        }
      );
    });
  }
  // Confirmation for dangerous actions: <form data-confirm="Really?">
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
})();
