// Times in the reader's own time zone: each <time datetime="…Z"> is written again in the
// browser's language and zone (the server wrote it in the provider's zone), and every form
// with a "tz" field sends that zone, so a time typed there is read in it.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var format = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
                                       {dateStyle: "medium", timeStyle: "medium"});
  document.querySelectorAll("time[datetime]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (!isNaN(moment.getTime())) {
      element.title = element.getAttribute("datetime");
      element.textContent = format.format(moment);
    }
  });
  if (zone) {
    document.querySelectorAll("input[name=tz]").forEach(function (input) { input.value = zone; });
    document.querySelectorAll("[data-tz-name]").forEach(function (element) {
      element.textContent = zone;
    });
  }
})();
