// Activation wizard: Enter in a field marked data-enter-clicks="#button" presses
// that button instead of the form's default one (e.g. the schema search must
// search, not save the mapping). Works without it: the form's default still saves.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    var field = event.target.closest && event.target.closest("[data-enter-clicks]");
    if (!field) return;
    var button = document.querySelector(field.getAttribute("data-enter-clicks"));
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
