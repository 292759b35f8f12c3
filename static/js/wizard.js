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

// Mapping step: keep the "Exported as" column in step with the Include/Hash boxes.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[name=identity], input[name=hashed]")) return;
    var ns = box.value;
    var cell = document.querySelector('[data-exported-for="' + CSS.escape(ns) + '"]');
    if (!cell) return;
    var form = box.form;
    var included = form.querySelector('input[name=identity][value="' + CSS.escape(ns) + '"]');
    var hashed = form.querySelector('input[name=hashed][value="' + CSS.escape(ns) + '"]');
    if (included && !included.checked) {
      var gettext = window.gettext || String; // the djangojs catalog (/jsi18n/)
      cell.textContent = gettext("not exported");
    } else {
      cell.textContent = hashed && hashed.checked ? ns + "_lc_sha256" : ns;
    }
  });
})();

// Mapping step: the autosave answers fresh error slots (out of band); mark each
// field they describe invalid or not, so screen readers follow what is shown.
(function () {
  "use strict";
  function syncInvalid() {
    document.querySelectorAll("[data-errors-for]").forEach(function (slot) {
      var field = document.getElementById(slot.getAttribute("data-errors-for"));
      if (!field) return;
      if (slot.querySelector(".errorlist")) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  }
  document.addEventListener("htmx:oobAfterSwap", syncInvalid);
  document.addEventListener("htmx:afterSettle", syncInvalid);
})();
