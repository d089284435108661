"""A software authenticator for tests: one ES256 credential, "none" attestation, responses in
the shape of the browser's ``PublicKeyCredential.toJSON()`` (WebAuthn L3 5.1)."""

import hashlib
import json
import os
from base64 import urlsafe_b64encode

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40  # authenticator data flags (L3 6.1)


def b64url(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftAuthenticator:
    """``sign_count`` is settable; each ``get`` adds one first unless ``counter`` is False
    (passkeys that always report 0). ``synced`` sets the backup flags BE and BS."""

    def __init__(self, synced=False, counter=True):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.counter = counter
        self.synced = synced
        self.user_handle = None

    def _auth_data(self, rp_id, flags, extra=b""):
        flags |= UP | UV | ((BE | BS) if self.synced else 0)
        return (hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
                + self.sign_count.to_bytes(4, "big") + extra)

    @staticmethod
    def _client_data(kind, challenge, origin):
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def _credential(self, response):
        cid = b64url(self.credential_id)
        return {"id": cid, "rawId": cid, "type": "public-key", "response": response,
                "authenticatorAttachment": "platform", "clientExtensionResults": {}}

    def create(self, challenge: str, origin: str, rp_id: str, user_id: str) -> dict:
        """The result of ``navigator.credentials.create()`` for a base64url ``challenge``."""
        self.user_handle = user_id
        numbers = self.key.public_key().public_numbers()
        cose_key = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                    -3: numbers.y.to_bytes(32, "big")}  # EC2, ES256, P-256 (RFC 9053)
        attested = (bytes(16) + len(self.credential_id).to_bytes(2, "big")
                    + self.credential_id + cbor2.dumps(cose_key))
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {},
                                   "authData": self._auth_data(rp_id, AT, attested)})
        return self._credential({
            "clientDataJSON": b64url(self._client_data("webauthn.create", challenge, origin)),
            "attestationObject": b64url(attestation), "transports": ["internal"]})

    def get(self, challenge: str, origin: str, rp_id: str) -> dict:
        """The result of ``navigator.credentials.get()`` for a base64url ``challenge``."""
        if self.counter:
            self.sign_count += 1
        client_data = self._client_data("webauthn.get", challenge, origin)
        auth_data = self._auth_data(rp_id, 0)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return self._credential({
            "clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
            "signature": b64url(signature), "userHandle": self.user_handle})
