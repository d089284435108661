"""WebAuthn ceremonies against a software authenticator, through the store and the database."""

import json

import pytest

from mfa import webauthn
from mfa.base import factors_for
from mfa.base import plugin
from mfa.webauthn import WebAuthnError
from tests import factories as f
from tests.softauthn import SoftAuthenticator

RP_ID = "idp.example.gov.cn"
ORIGIN = "https://idp.example.gov.cn"


def _challenge(options_json):
    return json.loads(options_json)["challenge"]


def _register(user, authenticator, name="我的手机"):
    options, state = webauthn.registration_options(user, RP_ID, "统一身份认证")
    user_id = json.loads(options)["user"]["id"]
    response = authenticator.create(_challenge(options), ORIGIN, RP_ID, user_id)
    return webauthn.finish_registration(user, state, response, ORIGIN, name)


def _login(authenticator, user=None, origin=ORIGIN):
    options, state = webauthn.authentication_options(RP_ID, user)
    response = authenticator.get(_challenge(options), origin, RP_ID)
    return webauthn.finish_authentication(state, response, ORIGIN, RP_ID)


def _refused(code, call, *args):
    with pytest.raises(WebAuthnError) as raised:
        call(*args)
    assert raised.value.code == code
    return raised.value


def test_register_then_authenticate(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        factor = _register(user, authenticator)
        assert (factor.kind, factor.confirmed, factor.key_type) == ("webauthn", True, "hwk")
        assert factor.transports == ["internal"] and factor.name == "我的手机"
        assert plugin("webauthn").amr(factor) == ["hwk"]
        assert [p.kind for p in factors_for(user)] == ["webauthn"]

        options, _ = webauthn.authentication_options(RP_ID, user)
        allowed = json.loads(options)["allowCredentials"]
        assert [c["id"] for c in allowed] == [factor.credential_id]

        user_id, used = _login(authenticator, user)  # second factor after the password
        assert (user_id, used.id, used.sign_count) == (user.id, factor.id, 1)
        assert used.last_used_at is not None
        user_id, used = _login(authenticator)  # passkey login: discoverable credential
        assert (user_id, used.sign_count) == (user.id, 2)


def test_registration_options_exclude_existing_credentials(app):
    with app.app_context():
        user = f.user()
        factor = _register(user, SoftAuthenticator())
        options = json.loads(webauthn.registration_options(user, RP_ID, "统一身份认证")[0])
        assert [c["id"] for c in options["excludeCredentials"]] == [factor.credential_id]
        assert options["authenticatorSelection"]["residentKey"] == "preferred"
        assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -257]
        options, _ = webauthn.authentication_options(RP_ID)
        assert json.loads(options)["allowCredentials"] == []
        assert json.loads(options)["userVerification"] == "required"


def test_synced_passkey_is_swk_and_may_keep_a_zero_counter(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator(synced=True, counter=False)
        assert _register(user, authenticator).key_type == "swk"
        _, factor = _login(authenticator)
        _, factor = _login(authenticator)
        assert factor.sign_count == 0 and plugin("webauthn").amr(factor) == ["swk"]


def test_same_credential_cannot_be_registered_twice(app):
    with app.app_context():
        authenticator = SoftAuthenticator()
        _register(f.user(), authenticator)
        _refused("already_registered", _register, f.user(phone="13900139000"), authenticator)


def test_state_from_another_ceremony_is_refused(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        _register(user, authenticator)
        first, _ = webauthn.authentication_options(RP_ID, user)
        _, second_state = webauthn.authentication_options(RP_ID, user)
        response = authenticator.get(_challenge(first), ORIGIN, RP_ID)
        _refused("challenge_mismatch", webauthn.finish_authentication, second_state, response,
                 ORIGIN, RP_ID)
        # a registration state is not an authentication state, nor the other way round
        options, reg_state = webauthn.registration_options(user, RP_ID, "统一身份认证")
        response = authenticator.get(_challenge(options), ORIGIN, RP_ID)
        _refused("challenge_expired", webauthn.finish_authentication, reg_state, response,
                 ORIGIN, RP_ID)


def test_registration_state_belongs_to_its_user(app):
    with app.app_context():
        alice, bob = f.user(), f.user(phone="13900139000")
        options, state = webauthn.registration_options(alice, RP_ID, "统一身份认证")
        response = SoftAuthenticator().create(_challenge(options), ORIGIN, RP_ID, "x")
        _refused("challenge_expired", webauthn.finish_registration, bob, state, response,
                 ORIGIN, None)


def test_wrong_origin_is_refused(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        options, state = webauthn.registration_options(user, RP_ID, "统一身份认证")
        response = authenticator.create(_challenge(options), "https://evil.example", RP_ID, "x")
        _refused("origin_mismatch", webauthn.finish_registration, user, state, response,
                 ORIGIN, None)
        _register(user, authenticator)
        _refused("origin_mismatch", _login, authenticator, user, "https://evil.example")


def test_wrong_rp_id_is_refused(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        _register(user, authenticator)
        options, state = webauthn.authentication_options(RP_ID, user)
        response = authenticator.get(_challenge(options), ORIGIN, "example.gov.cn")
        _refused("rp_id_mismatch", webauthn.finish_authentication, state, response, ORIGIN,
                 RP_ID)


def test_unknown_credential_is_refused(app):
    with app.app_context():
        alice, bob = f.user(), f.user(phone="13900139000")
        _register(alice, SoftAuthenticator())
        _refused("unknown_credential", _login, SoftAuthenticator(), alice)
        # alice's credential does not pass as bob's second factor
        authenticator = SoftAuthenticator()
        _register(alice, authenticator)
        _refused("unknown_credential", _login, authenticator, bob)


def test_user_handle_must_be_the_owner(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        _register(user, authenticator)
        authenticator.user_handle = "b3RoZXI"
        _refused("user_mismatch", _login, authenticator)


def test_bad_signature_is_refused(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        _register(user, authenticator)
        authenticator.key = SoftAuthenticator().key  # same credential id, another private key
        _refused("bad_signature", _login, authenticator, user)


def test_sign_counter_going_backwards_is_refused(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        factor = _register(user, authenticator)
        authenticator.sign_count = 10
        _login(authenticator, user)
        authenticator.sign_count = 5  # a clone that lags behind
        _refused("counter_regression", _login, authenticator, user)
        authenticator.sign_count = 10  # the same count again is no increase either
        _refused("counter_regression", _login, authenticator, user)
        assert factor.sign_count == 11


def test_state_id_is_single_use(app):
    with app.app_context():
        user = f.user()
        authenticator = SoftAuthenticator()
        _register(user, authenticator)
        options, state = webauthn.authentication_options(RP_ID, user)
        response = authenticator.get(_challenge(options), ORIGIN, RP_ID)
        webauthn.finish_authentication(state, response, ORIGIN, RP_ID)
        _refused("challenge_expired", webauthn.finish_authentication, state, response, ORIGIN,
                 RP_ID)
        _refused("challenge_expired", webauthn.finish_authentication, "nope", response, ORIGIN,
                 RP_ID)


@pytest.mark.parametrize("garbage", [
    "not json", "[]", "{}", {"id": "a", "rawId": "a", "type": "public-key", "response": {}},
    {"id": "!!", "rawId": "!!", "type": "public-key",
     "response": {"clientDataJSON": "!!", "authenticatorData": "!!", "signature": "!!"}},
    {"id": "AA", "rawId": "AA", "type": "public-key",
     "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"}},
])
def test_garbage_is_malformed(app, garbage):
    with app.app_context():
        user = f.user()
        _, state = webauthn.authentication_options(RP_ID, user)
        _refused("malformed", webauthn.finish_authentication, state, garbage, ORIGIN, RP_ID)
        _, state = webauthn.registration_options(user, RP_ID, "统一身份认证")
        _refused("malformed", webauthn.finish_registration, user, state, garbage, ORIGIN, None)


def test_garbage_attestation_is_malformed(app):
    with app.app_context():
        user = f.user()
        options, state = webauthn.registration_options(user, RP_ID, "统一身份认证")
        response = SoftAuthenticator().create(_challenge(options), ORIGIN, RP_ID, "x")
        response["response"]["attestationObject"] = "oWNmbXRkbm9uZQ"  # {"fmt": "none"}
        _refused("malformed", webauthn.finish_registration, user, state, response, ORIGIN, None)
