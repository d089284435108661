"""An error that quotes what a client sent stays an RFC 6749 error, whatever it sent.

RFC 6749 5.2 allows only printable ASCII without ``"`` and ``\\`` in ``error_description``, and
Authlib refuses to build an error whose description holds anything else (``ValueError``): a
``scope`` or ``prompt`` value with a quote or a Chinese character, or a client assertion whose
header names such an algorithm or key, was a 500 instead of the error. Each such character is
now shown as "?" (attack review, issue 10 follow-up)."""

import base64
import json

from joserfc.jwk import ECKey

from tests import factories as f

KNOWN = "openid profile phone email offline_access id_number admin enterprise"


def _authorize(app, client_id, **overrides):
    params = f.authorize_params(client_id, f.pkce()[1], **overrides)
    r = app.test_client().get("/authorize", query_string=params)
    assert r.status_code == 302, r.status_code
    return f.query(r.headers["Location"])


def test_a_scope_with_a_quote_or_a_chinese_character_is_invalid_scope(app):
    with app.app_context():
        client_id, _secret = f.rp()
    answer = _authorize(app, client_id, scope='openid a"b 省\\')
    assert answer["error"] == "invalid_scope"
    assert answer["error_description"] == f"Unknown scope: a?b ?? (this server knows {KNOWN})."
    assert answer["iss"] == app.config["ISSUER"]


def test_a_prompt_with_full_width_digits_is_invalid_request(app):
    with app.app_context():
        client_id, _secret = f.rp()
    answer = _authorize(app, client_id, prompt="１２３")
    assert answer["error"] == "invalid_request"
    assert answer["error_description"] == "Unsupported 'prompt' value: ???"


def test_a_client_credentials_scope_with_a_quote_is_invalid_scope(app):
    with app.app_context():
        client_id, secret = f.rp(grant_types=("client_credentials",), redirect_uris=(),
                                 scope="openid")
    r = app.test_client().post("/token", auth=(client_id, secret), data={
        "grant_type": "client_credentials", "scope": 'x"y'})
    assert r.status_code == 400
    assert r.get_json() == {"error": "invalid_scope", "error_description": (
        f"Unknown scope: x?y (this server knows {KNOWN}).")}


def _b64(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_client_assertion_naming_an_odd_algorithm_or_key_is_invalid_client(app):
    key = ECKey.generate_key("P-256", private=True)
    jwks = {"keys": [{**key.as_dict(private=False), "kid": "k1"}]}
    with app.app_context():
        client_id, _secret = f.rp(auth_method="private_key_jwt", jwks=jwks)
    claims = {"iss": client_id, "sub": client_id, "aud": app.config["ISSUER"] + "/token",
              "exp": 2_000_000_000, "jti": "j1"}
    for header, description in (
            ({"alg": "é"}, "Invalid client assertion: unsupported_algorithm: Algorithm of '?' "
                           "is not supported"),
            ({"alg": "ES256", "kid": "密钥"},
             "Invalid client assertion: invalid_key_id: No key for kid: '??'")):
        r = app.test_client().post("/token", data={
            "grant_type": "authorization_code", "code": "x", "redirect_uri": f.REDIRECT_URI,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": f"{_b64(header)}.{_b64(claims)}.AAAA"})
        # RFC 6749 5.2: 401 only for credentials sent in the Authorization header
        assert r.status_code == 400, (header, r.status_code)
        assert r.get_json() == {"error": "invalid_client", "error_description": description}
