"""Identity data at rest: sealed with AES-256-GCM under a named key, found by a blind index.

``seal(data, context)`` returns ``(kid, blob)``; the key id is stored beside the blob so that
``IDP_PII_KEYS`` can gain a new first key while older data still opens, until
``idp realname reencrypt`` reseals it. ``context`` (e.g. "binding:<user id>") is the AEAD's
associated data: a blob copied to another row does not open there.

The blind index is an HMAC-SHA256 under ``IDP_BLIND_INDEX_KEY`` of the document type and the
holder's part of the normalised number (``Document.holder_key``): equal documents collide (one
person, one account) without the number being recoverable from the database.
"""

import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from config import pii_keys


def _keys():
    return pii_keys(current_app.config["PII_KEYS"])


def current_key_id() -> str:
    return next(iter(_keys()))


def seal(data: dict, context: str) -> tuple[str, bytes]:
    kid, key = next(iter(_keys().items()))
    nonce = os.urandom(12)
    plaintext = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return kid, nonce + AESGCM(key).encrypt(nonce, plaintext, f"{kid}|{context}".encode())


class UnknownKey(LookupError):
    """The data was sealed under a key id that ``IDP_PII_KEYS`` no longer lists."""


def open_sealed(kid: str, blob: bytes, context: str) -> dict:
    """Raises ``UnknownKey``, or ``cryptography.exceptions.InvalidTag`` for tampered data."""
    key = _keys().get(kid)
    if key is None:
        raise UnknownKey(kid)
    blob = bytes(blob)
    plaintext = AESGCM(key).decrypt(blob[:12], blob[12:], f"{kid}|{context}".encode())
    return json.loads(plaintext)


def blind_index(document) -> str:
    """Of an ``idp.realname.documents.Document``: its type and ``holder_key``."""
    secret = current_app.config["BLIND_INDEX_KEY"].encode()
    message = f"{document.doc_type}|{document.holder_key}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
