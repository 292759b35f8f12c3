// Live pages (core/live.py): pollers marked data-live skip their request while the
// tab is hidden, and ask at once when it shows again.
(function () {
  "use strict";
  document.addEventListener("htmx:confirm", function (event) {
    var element = event.target;
    if (document.hidden && element.hasAttribute && element.hasAttribute("data-live")) {
      event.preventDefault(); // the request is not sent; the next tick asks again
    }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden || !window.htmx) return;
    document.querySelectorAll("[data-live]").forEach(function (element) {
      window.htmx.trigger(element, "live-refresh");
    });
  });
})();
