// Front-channel logout (OpenID Connect Front-Channel Logout 1.0): the page holds one hidden
// frame per service; once they have all loaded (the window's load event waits for them), or
// after 5 seconds at most, go on to the next step of the logout.
(function () {
  "use strict";
  var holder = document.getElementById("frontchannel");
  var next = holder && holder.getAttribute("data-next");
  if (!next) {
    return;
  }
  var gone = false;
  function go() {
    if (!gone) {
      gone = true;
      window.location.replace(next);
    }
  }
  window.addEventListener("load", go);
  window.setTimeout(go, 5000);
})();
