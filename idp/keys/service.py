"""Signing keys: generation, encryption at rest, rotation and the published JWKS.

Rotation follows the "publish before sign" rule: each algorithm always has one ``next`` key in
the JWKS. ``rotate()`` promotes it to ``active``, retires the old active key (still published
until every token it signed has expired) and publishes a fresh ``next`` key. Signing keys are
loaded once per process and reloaded when the key set changes (checked at most every
``RELOAD_SECONDS``), so the hot path does no query and no decryption.
"""

import json
import threading
import time

from flask import current_app
from joserfc.jwk import ECKey
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from idp.crypto import open_sealed
from idp.crypto import seal
from idp.extensions import db
from idp.keys.models import SigningKey

RELOAD_SECONDS = 30


def _generate(alg):
    if alg == "ES256":
        return ECKey.generate_key("P-256", auto_kid=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, auto_kid=True)
    raise ValueError(f"unsupported signing algorithm {alg}")


def _encrypt(private_jwk: dict, kid: str) -> bytes:
    return seal(json.dumps(private_jwk).encode(), kid)


def _decrypt(blob: bytes, kid: str) -> dict:
    return json.loads(open_sealed(blob, kid))


def _new_key(alg, state, now):
    key = _generate(alg)
    kid = key.kid
    public = key.as_dict(private=False)
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    row = SigningKey(
        kid=kid, alg=alg, state=state, public_jwk=public, created_at=now,
        private_jwk_encrypted=_encrypt(key.as_dict(private=True), kid),
        activated_at=now if state == "active" else None,
    )
    db.session.add(row)
    return row


def _max_token_lifetime():
    c = current_app.config
    return max(c["ACCESS_TOKEN_TTL"], c["ID_TOKEN_TTL"])


def rotate(now=None):
    """Rotate every configured algorithm; on an empty table create the first keys.

    Returns the list of (alg, state, kid) changes made."""
    now = int(now or time.time())
    changes = []
    for alg in current_app.config["ID_TOKEN_SIGNING_ALGS"]:
        rows = SigningKey.query.filter_by(alg=alg).filter(SigningKey.state != "retired").all()
        active = [r for r in rows if r.state == "active"]
        pending = [r for r in rows if r.state == "next"]
        if not active and not pending:
            changes.append((alg, "active", _new_key(alg, "active", now).kid))
        else:
            for row in active:
                row.state, row.retired_at = "retired", now
                row.publish_until = now + _max_token_lifetime() + current_app.config[
                    "JWKS_MAX_AGE"]
                changes.append((alg, "retired", row.kid))
            for row in pending:
                row.state, row.activated_at = "active", now
                changes.append((alg, "active", row.kid))
            if not pending:
                changes.append((alg, "active", _new_key(alg, "active", now).kid))
        changes.append((alg, "next", _new_key(alg, "next", now).kid))
    SigningKey.query.filter(
        SigningKey.state == "retired", SigningKey.publish_until < now
    ).delete()
    db.session.commit()
    keyring().invalidate()
    return changes


def ensure_keys():
    """Create the first keys when there are none (development start-up)."""
    if SigningKey.query.filter_by(state="active").count() == 0:
        return rotate()
    return []


class KeyRing:
    """Per-process cache of the signing keys and the published JWKS."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._fingerprint = None
        self.signing = {}  # alg -> joserfc key (private), with kid
        self.verifying = KeySet([])  # every published public key
        self.jwks_json = b'{"keys": []}'

    def invalidate(self):
        self._loaded_at = 0.0

    def _fresh(self):
        if time.monotonic() - self._loaded_at < RELOAD_SECONDS:
            return
        with self._lock:
            if time.monotonic() - self._loaded_at < RELOAD_SECONDS:
                return
            now = int(time.time())
            rows = SigningKey.query.order_by(SigningKey.id).all()
            published = [r for r in rows if r.state != "retired" or (r.publish_until or 0) >= now]
            fingerprint = tuple((r.kid, r.state) for r in published)
            if fingerprint != self._fingerprint:
                signing = {}
                for r in published:
                    if r.state == "active":
                        signing[r.alg] = _import(_decrypt(r.private_jwk_encrypted, r.kid), r.alg)
                self.signing = signing
                self.verifying = KeySet([_import(r.public_jwk, r.alg) for r in published])
                self.jwks_json = json.dumps({"keys": [r.public_jwk for r in published]}).encode()
                self._fingerprint = fingerprint
            self._loaded_at = time.monotonic()

    def signing_key(self, alg):
        self._fresh()
        try:
            return self.signing[alg]
        except KeyError:
            raise RuntimeError(
                f"no active {alg} signing key: run `idp keys rotate`") from None

    def public_keys(self):
        self._fresh()
        return self.verifying

    def jwks(self):
        self._fresh()
        return self.jwks_json


def _import(jwk_dict, alg):
    cls = ECKey if alg.startswith("ES") else RSAKey
    return cls.import_key(jwk_dict, {"kid": jwk_dict.get("kid"), "alg": alg, "use": "sig"})


def keyring() -> KeyRing:
    """The current app's key ring (one per app, so test apps never share keys)."""
    return current_app.extensions["idp.keyring"]
