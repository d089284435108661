// Adds a passkey or security key from the account page (WebAuthn registration ceremony).
(function () {
  "use strict";
  var form = document.getElementById("passkey-form");
  if (!form || !window.PublicKeyCredential) { if (form) { form.hidden = true; } return; }
  var errorBox = document.getElementById("webauthn-error");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fail(message) { errorBox.textContent = message; errorBox.hidden = false; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var state;
    fetch(form.dataset.options, {method: "POST", credentials: "same-origin",
                                 headers: {"X-CSRFToken": csrf}})
      .then(function (r) { state = r.headers.get("X-State"); return r.json(); })
      .then(function (options) {
        options.challenge = b64urlToBuf(options.challenge);
        options.user.id = b64urlToBuf(options.user.id);
        (options.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
        return navigator.credentials.create({publicKey: options});
      })
      .then(function (cred) {
        var r = cred.response;
        var body = JSON.stringify({
          id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
          authenticatorAttachment: cred.authenticatorAttachment || null,
          clientExtensionResults: cred.getClientExtensionResults(),
          response: {
            clientDataJSON: bufToB64url(r.clientDataJSON),
            attestationObject: bufToB64url(r.attestationObject),
            transports: r.getTransports ? r.getTransports() : []
          }
        });
        return fetch(form.action, {method: "POST", credentials: "same-origin", body: body,
                                   headers: {"Content-Type": "application/json",
                                             "X-CSRFToken": csrf, "X-State": state}});
      })
      .then(function (r) { return r.json(); })
      .then(function (result) {
        if (result.redirect) { window.location.assign(result.redirect); }
        else { fail(result.message || result.error); }
      })
      .catch(function (err) { fail(err && err.message ? err.message : String(err)); });
  });
}());
