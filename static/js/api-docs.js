// Starts Swagger UI for /api/v1/docs with the settings the page carries in
// data-settings (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle === "undefined") return;
  var settings = JSON.parse(root.getAttribute("data-settings"));
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  window.streamlineApiDocs = SwaggerUIBundle(settings);
})();
