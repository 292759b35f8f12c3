// Live pages (core/live.py): pollers marked data-live skip their request while the
// tab is hidden, and ask at once when it shows again. A refreshed fragment keeps
// what the reader did with it: htmx puts the focus back on the element with the same
// id, and this reopens the <details id=…> the reader had open.
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

  var openDetails = {};
  document.addEventListener("toggle", function (event) {
    var element = event.target;
    if (element.tagName === "DETAILS" && element.id) openDetails[element.id] = element.open;
  }, true); // toggle does not bubble
  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    if (!root.querySelectorAll) return;
    var found = Array.prototype.slice.call(root.querySelectorAll("details[id]"));
    if (root.matches("details[id]")) found.push(root);
    found.forEach(function (details) {
      if (openDetails[details.id]) details.open = true;
    });
  });
})();
