"""Passkeys and security keys (W3C Web Authentication Level 3), on py_webauthn.

Each ceremony gets a random challenge kept server-side under a random state id (5 minutes,
single use: it is popped before the response is checked, so a failed attempt also spends it).
The checks whose failure a user or an operator needs told apart are made here, in the order
of the spec, each raising :class:`WebAuthnError` with its own code; py_webauthn then repeats
them and verifies the attestation or signature. No py_webauthn, JSON, base64 or CBOR error
escapes: they become ``malformed``, ``registration_rejected`` or ``bad_signature``.

Error codes: ``challenge_expired``, ``malformed``, ``challenge_mismatch``, ``origin_mismatch``,
``rp_id_mismatch``, ``user_not_present``, ``user_not_verified``, ``registration_rejected``,
``already_registered``, ``unknown_credential``, ``user_mismatch``, ``bad_signature``,
``counter_regression``.
"""

import secrets
import time
import uuid
from hashlib import sha256
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from webauthn import generate_authentication_options
from webauthn import generate_registration_options
from webauthn import options_to_json
from webauthn import verify_authentication_response
from webauthn import verify_registration_response
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers import parse_attestation_object
from webauthn.helpers import parse_authentication_credential_json
from webauthn.helpers import parse_authenticator_data
from webauthn.helpers import parse_client_data_json
from webauthn.helpers import parse_registration_credential_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.structs import AuthenticatorSelectionCriteria
from webauthn.helpers.structs import AuthenticatorTransport
from webauthn.helpers.structs import CredentialDeviceType
from webauthn.helpers.structs import PublicKeyCredentialDescriptor
from webauthn.helpers.structs import ResidentKeyRequirement
from webauthn.helpers.structs import UserVerificationRequirement

from idp.accounts.models import User
from idp.extensions import db
from idp.store import store
from mfa.base import Rejected
from mfa.base import SecondFactor
from mfa.base import factor_name
from mfa.models import Factor

KIND = "webauthn"
STATE_TTL = 300
#: ES256 first (what authenticators make), RS256 for Windows Hello (WebAuthn L3 5.4,
#: ``pubKeyCredParams``).
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]


class WebAuthnError(Rejected):
    """A refused ceremony; ``code`` is one of the module's error codes, ``message`` is for
    logs (never shown to users as is)."""


class WebAuthn(SecondFactor):
    """The WebAuthn plugin (see :mod:`mfa.base`)."""

    kind = KIND
    strong = True
    script = True

    def amr(self, factor):
        """RFC 8176 section 2: ``hwk`` (key bound to the authenticator's hardware) or ``swk``
        (a synced passkey, whose private key leaves the device), from ``Factor.key_type``."""
        return [factor.key_type]

    def available_for(self, user):
        return bool(_credentials_of(user.id))

    def begin(self, user, state):
        options, state["ceremony"] = authentication_options(relying_party()[0], user)
        return options

    def verify(self, user, state, submission):
        rp_id, origin = relying_party()
        user_id, factor = finish_authentication(state.pop("ceremony", ""), submission, origin,
                                                rp_id)
        if user_id != user.id:
            raise WebAuthnError("unknown_credential", "the credential is another account's")
        return factor

    def rejected(self):
        return _("The security key or passkey was not accepted.")


def relying_party() -> tuple[str, str]:
    """``(rp_id, origin)``: the issuer's host and origin (browsers refuse an IP address as
    RP ID, so passkeys need a domain)."""
    issuer = urlsplit(current_app.config["ISSUER"])
    return issuer.hostname, f"{issuer.scheme}://{issuer.netloc}"


def registration_options(user, rp_id: str, rp_name: str) -> tuple[str, str]:
    """``(PublicKeyCredentialCreationOptions as JSON, state id)`` for
    ``navigator.credentials.create()``: a discoverable credential and user verification
    preferred, "none" attestation, the user's existing credentials excluded (WebAuthn L3
    5.4). The user handle is the account's random UUID, never personal data
    (WebAuthn L3 14.6.1)."""
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=rp_name,
        user_id=_user_handle(user),
        user_name=user.username or user.phone,
        user_display_name=user.name or user.username or user.phone,
        timeout=STATE_TTL * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED),
        exclude_credentials=_descriptors(_credentials_of(user.id)),
        supported_pub_key_algs=ALGORITHMS,
    )
    state_id = _save_state("reg", {"challenge": bytes_to_base64url(options.challenge),
                                   "user_id": user.id, "rp_id": rp_id})
    return options_to_json(options), state_id


def finish_registration(user, state_id: str, credential_json: str | dict,
                        expected_origin: str | list[str], name: str | None) -> Factor:
    """Verify the browser's ``PublicKeyCredential.toJSON()`` from ``create()`` (WebAuthn L3
    7.1) and store the credential as a confirmed factor. ``key_type`` is ``swk`` when the
    credential is backup eligible (a synced passkey, L3 6.1.3), else ``hwk``. Commits."""
    state = _pop_state("reg", state_id)
    if state["user_id"] != user.id:
        raise WebAuthnError("challenge_expired", "the ceremony was started for another account")
    credential = _parsed(parse_registration_credential_json, credential_json, "credential")
    _check_client_data(credential, "webauthn.create", state["challenge"], expected_origin)
    attestation = _parsed(parse_attestation_object, credential.response.attestation_object,
                          "attestationObject")
    _check_authenticator_data(attestation.auth_data, state["rp_id"], require_uv=False)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=state["rp_id"], expected_origin=expected_origin,
            supported_pub_key_algs=ALGORITHMS)
    except Exception as exc:  # py_webauthn's parsers raise more than its own exceptions
        raise WebAuthnError("registration_rejected", str(exc)) from exc
    synced = (verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
              or verified.credential_backed_up)
    factor = Factor(
        user_id=user.id, kind=KIND, name=factor_name(name, "通行密钥"), confirmed=True,
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        transports=[t.value for t in credential.response.transports or []],
        aaguid=verified.aaguid, key_type="swk" if synced else "hwk")
    db.session.add(factor)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise WebAuthnError("already_registered", "this credential is already registered") \
            from exc
    return factor


def authentication_options(rp_id: str, user=None) -> tuple[str, str]:
    """``(PublicKeyCredentialRequestOptions as JSON, state id)`` for
    ``navigator.credentials.get()``. With ``user`` (a second factor after the password) the
    user's credentials are allowed and user verification is preferred. Without (passkey
    login) ``allowCredentials`` is empty so the authenticator offers its discoverable
    credentials (WebAuthn L3 5.5), and user verification is required: the passkey then stands
    for both factors (possession plus the PIN or biometric that unlocked it)."""
    options = generate_authentication_options(
        rp_id=rp_id,
        timeout=STATE_TTL * 1000,
        allow_credentials=_descriptors(_credentials_of(user.id)) if user else [],
        user_verification=(UserVerificationRequirement.PREFERRED if user
                           else UserVerificationRequirement.REQUIRED),
    )
    state_id = _save_state("auth", {"challenge": bytes_to_base64url(options.challenge),
                                    "user_id": user.id if user else None})
    return options_to_json(options), state_id


def finish_authentication(state_id: str, credential_json: str | dict,
                          expected_origin: str | list[str], rp_id: str) -> tuple[int, Factor]:
    """Verify the browser's ``PublicKeyCredential.toJSON()`` from ``get()`` (WebAuthn L3 7.2);
    ``(user id, factor)`` of the credential used. The signature count must grow when either
    the stored or the new count is non-zero (L3 7.2 and 6.1.1: otherwise the authenticator
    may have been cloned); it is stored with a conditional ``UPDATE``. Commits."""
    state = _pop_state("auth", state_id)
    credential = _parsed(parse_authentication_credential_json, credential_json, "credential")
    _check_client_data(credential, "webauthn.get", state["challenge"], expected_origin)
    auth_data = _parsed(parse_authenticator_data, credential.response.authenticator_data,
                        "authenticatorData")
    factor = db.session.execute(select(Factor).where(
        Factor.kind == KIND, Factor.credential_id == credential.id)).scalar_one_or_none()
    # L3 7.2: the credential must be one the identified user owns, and the user handle it
    # reports must be its owner's (and is required when no user was identified first)
    if factor is None or state["user_id"] not in (None, factor.user_id):
        raise WebAuthnError("unknown_credential", "no such credential for this ceremony")
    handle = credential.response.user_handle
    if (handle is None and state["user_id"] is None) or (
            handle is not None and handle != _user_handle(db.session.get(User, factor.user_id))):
        raise WebAuthnError("user_mismatch", "the user handle is not the credential's owner")
    _check_authenticator_data(auth_data, rp_id, require_uv=state["user_id"] is None)
    try:
        # the count is checked below, after the signature: pass 0 so py_webauthn skips it
        verified = verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(state["challenge"]),
            expected_rp_id=rp_id, expected_origin=expected_origin,
            credential_public_key=factor.public_key, credential_current_sign_count=0,
            require_user_verification=state["user_id"] is None)
    except Exception as exc:  # py_webauthn's parsers raise more than its own exceptions
        raise WebAuthnError("bad_signature", str(exc)) from exc
    new = verified.new_sign_count
    grows = Factor.sign_count == 0 if new == 0 else Factor.sign_count < new
    updated = db.session.execute(
        update(Factor).where(Factor.id == factor.id, grows)
        .values(sign_count=new, last_used_at=int(time.time()))
        .execution_options(synchronize_session=False))
    db.session.commit()
    if updated.rowcount != 1:
        raise WebAuthnError("counter_regression",
                            f"signature count {new} does not exceed the stored one")
    return factor.user_id, factor


def _check_client_data(credential, expected_type, challenge, expected_origin):
    """WebAuthn L3 7.1 and 7.2, the checks of ``clientDataJSON``: type, challenge, origin,
    and no cross-origin iframe (this provider is never embedded)."""
    if credential.id != bytes_to_base64url(credential.raw_id):
        raise WebAuthnError("malformed", "id and rawId differ")
    client_data = _parsed(parse_client_data_json, credential.response.client_data_json,
                          "clientDataJSON")
    if client_data.type != expected_type:
        raise WebAuthnError("malformed", f"clientDataJSON.type is not {expected_type}")
    if not secrets.compare_digest(client_data.challenge, base64url_to_bytes(challenge)):
        raise WebAuthnError("challenge_mismatch", "the response is for another challenge")
    origins = [expected_origin] if isinstance(expected_origin, str) else expected_origin
    if client_data.origin not in origins or client_data.cross_origin:
        raise WebAuthnError("origin_mismatch", f"unexpected origin {client_data.origin!r}")


def _check_authenticator_data(auth_data, rp_id, require_uv):
    """WebAuthn L3 7.1 and 7.2, the checks of ``authenticatorData``: RP ID hash, user
    present, and user verified when required."""
    if not secrets.compare_digest(auth_data.rp_id_hash, sha256(rp_id.encode()).digest()):
        raise WebAuthnError("rp_id_mismatch", "the credential is scoped to another RP ID")
    if not auth_data.flags.up:
        raise WebAuthnError("user_not_present", "the UP flag is not set")
    if require_uv and not auth_data.flags.uv:
        raise WebAuthnError("user_not_verified", "the UV flag is not set")


def _parsed(parser, value, what):
    try:
        return parser(value)
    except Exception as exc:  # json, base64, CBOR and py_webauthn errors alike
        raise WebAuthnError("malformed", f"unreadable {what}") from exc


def _save_state(ceremony, state):
    state_id = secrets.token_urlsafe(32)
    store().set(f"webauthn:{ceremony}:{state_id}", state, STATE_TTL)
    return state_id


def _pop_state(ceremony, state_id):
    state = store().pop(f"webauthn:{ceremony}:{state_id}") if isinstance(state_id, str) else None
    if state is None:
        raise WebAuthnError("challenge_expired", "unknown, expired or already used state id")
    return state


def _credentials_of(user_id):
    return db.session.execute(select(Factor).where(
        Factor.user_id == user_id, Factor.kind == KIND, Factor.confirmed.is_(True))
        .order_by(Factor.id)).scalars().all()


def _descriptors(factors):
    return [PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(f.credential_id),
        transports=[AuthenticatorTransport(t) for t in f.transports or []] or None)
        for f in factors]


def _user_handle(user):
    return uuid.UUID(user.uuid).bytes
