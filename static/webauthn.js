// Passkeys and security keys (WebAuthn) in the browser, for two forms:
//  #webauthn-form (login's second-factor step): navigator.credentials.get()
//  #passkey-form  (account page): navigator.credentials.create()
// Each asks the server for options, lets the browser talk to the authenticator and posts the
// result as PublicKeyCredential JSON. No inline script, so the pages' CSP can forbid them.
(function () {
  "use strict";
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
  function credentialJSON(cred, response) {
    return JSON.stringify({
      id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults(), response: response
    });
  }
  function ceremony(form, prepare, run, encode) {
    if (!form) { return; }
    if (!window.PublicKeyCredential) { form.hidden = true; return; }
    var errorBox = document.getElementById("webauthn-error");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    function fail(message) { errorBox.textContent = message; errorBox.hidden = false; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var state = "";
      fetch(form.dataset.options, {method: "POST", credentials: "same-origin",
                                   headers: {"X-CSRFToken": csrf}})
        .then(function (r) { state = r.headers.get("X-State") || ""; return r.json(); })
        .then(function (options) { prepare(options); return run(options); })
        .then(function (cred) {
          return fetch(form.action, {method: "POST", credentials: "same-origin",
                                     body: credentialJSON(cred, encode(cred.response)),
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
  }
  ceremony(document.getElementById("webauthn-form"),
    function (options) {
      options.challenge = b64urlToBuf(options.challenge);
      (options.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    },
    function (options) { return navigator.credentials.get({publicKey: options}); },
    function (r) {
      return {clientDataJSON: bufToB64url(r.clientDataJSON),
              authenticatorData: bufToB64url(r.authenticatorData),
              signature: bufToB64url(r.signature),
              userHandle: r.userHandle ? bufToB64url(r.userHandle) : null};
    });
  ceremony(document.getElementById("passkey-form"),
    function (options) {
      options.challenge = b64urlToBuf(options.challenge);
      options.user.id = b64urlToBuf(options.user.id);
      (options.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    },
    function (options) { return navigator.credentials.create({publicKey: options}); },
    function (r) {
      return {clientDataJSON: bufToB64url(r.clientDataJSON),
              attestationObject: bufToB64url(r.attestationObject),
              transports: r.getTransports ? r.getTransports() : []};
    });
}());
