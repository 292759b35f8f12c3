// Connect wizard: pick a stream from the searchable list into the stream field.
// <button data-fill-target="#id_stream_name" data-fill-value="orders">orders</button>
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-fill-target]");
    if (!button) return;
    var target = document.querySelector(button.getAttribute("data-fill-target"));
    if (!target) return;
    target.value = button.getAttribute("data-fill-value");
    target.dispatchEvent(new Event("change", { bubbles: true }));
    document.querySelectorAll("[data-fill-target].selected").forEach(function (other) {
      other.classList.remove("selected");
      other.removeAttribute("aria-pressed");
    });
    button.classList.add("selected");
    button.setAttribute("aria-pressed", "true");
    target.focus();
  });
})();
