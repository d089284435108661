"""Signing keys: encrypted at rest, published before they sign, retired keys kept until the
tokens they signed expire."""

import json

from freezegun import freeze_time
from sqlalchemy import text

from idp.extensions import db
from idp.keys.models import SigningKey
from tests import factories as f
from tests.integration.test_sso import tokens_for


def jwks_kids(client):
    return {k["kid"] for k in client.get("/jwks.json").get_json()["keys"]}


def test_private_keys_are_encrypted_at_rest(app):
    with app.app_context():
        for row in SigningKey.query:
            raw = db.session.execute(text("SELECT private_jwk_encrypted FROM signing_keys "
                                          "WHERE id = :id"), {"id": row.id}).scalar_one()
            assert b'"d"' not in bytes(raw) and b"kty" not in bytes(raw)


def test_rotation_signs_with_the_prepublished_key_and_keeps_the_old_one(app, client):
    with app.app_context():
        f.user()
        rp = f.rp()
        before = {k.alg: k.kid for k in SigningKey.query.filter_by(state="next")}
        old_active = {k.alg: k.kid for k in SigningKey.query.filter_by(state="active")}
    first = tokens_for(f.Flow(client), client, rp)
    published_before = jwks_kids(client)
    assert set(before.values()) <= published_before  # next keys are already published
    with app.app_context():
        from idp.keys.service import rotate

        with freeze_time() as frozen:
            rotate()
            active = {k.alg: k.kid for k in SigningKey.query.filter_by(state="active")}
            assert active == before
            after = jwks_kids(client)
            assert set(old_active.values()) <= after  # the retired key still verifies
            frozen.tick(900 + 300 + 1)
            rotate()
            assert not set(old_active.values()) & jwks_kids(client)
    second = client.post("/token", data={"grant_type": "refresh_token",
                                         "refresh_token": first["refresh_token"]}, auth=rp)
    header = json.loads(__import__("base64").urlsafe_b64decode(
        second.get_json()["id_token"].split(".")[0] + "=="))
    assert header["kid"] in {k for k in jwks_kids(client)}


def test_wrong_key_encryption_key_fails_loudly(app):
    from tests.conftest import make_app

    other = make_app(None, KEY_ENCRYPTION_KEY="b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI=")
    with app.app_context():
        blob = SigningKey.query.filter_by(state="active").first()
    with other.app_context():
        from cryptography.exceptions import InvalidTag

        from idp.keys.service import _decrypt

        try:
            _decrypt(blob.private_jwk_encrypted, blob.kid)
        except InvalidTag:
            return
        raise AssertionError("decryption with the wrong key must fail")
