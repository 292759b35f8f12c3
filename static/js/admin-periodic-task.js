// Django admin, periodic tasks: show the chosen crontab in words under the field
// (django-celery-beat does this with an inline script, which the CSP forbids).
(function () {
  "use strict";
  var $ = window.django && window.django.jQuery;
  var data = document.getElementById("readable-crontabs");
  var me = document.getElementById("periodic-task-overrides");
  if (!$ || !data || !me) return;
  var readable = JSON.parse(data.textContent);
  var originalHelp = me.getAttribute("data-crontab-help") || "";
  $(".field-crontab_translation").hide();
  $(".field-crontab").change(function () {
    var help = $(".field-crontab .help");
    help.text(originalHelp);
    var words = readable[$("#id_crontab").val()];
    if (words) help.append($("<br>"), document.createTextNode("Translation: " + words));
  });
})();
