"""Sealing secrets at rest: AES-256-GCM under ``IDP_KEY_ENCRYPTION_KEY``.

``seal(plaintext, context)`` binds the ciphertext to ``context`` (associated data, e.g. a key
id or "totp:<factor id>"), so a sealed value copied to another row does not open there. The
format is ``nonce (12 bytes) || ciphertext+tag``.
"""

import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from config import decode_key


def _aead():
    return AESGCM(decode_key(current_app.config["KEY_ENCRYPTION_KEY"], "IDP_KEY_ENCRYPTION_KEY"))


def seal(plaintext: bytes, context: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead().encrypt(nonce, plaintext, context.encode())


def open_sealed(blob: bytes, context: str) -> bytes:
    """Raises ``cryptography.exceptions.InvalidTag`` for a wrong key, context or a tampered
    value."""
    blob = bytes(blob)
    return _aead().decrypt(blob[:12], blob[12:], context.encode())
