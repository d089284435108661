"""Binding an account to an identity document and raising its level of assurance.

Levels (README, "Levels of assurance"): 1 declared, 2 name + number matched by the registry,
3 level 2 plus a face check (liveness + match), 4 checked in person at a service counter.

Every attempt is audited (account, source, outcome, level before and after, document type;
never the name or the number) and the outside services are called before anything is
written, so an outage leaves the account as it was. Attempts that got a definite answer count
against ``REALNAME_ATTEMPTS_PER_DAY``.
"""

import secrets
import time
from datetime import date

from authlib.common.urls import add_params_to_uri
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from idp.accounts.models import User
from idp.audit import service as audit
from idp.errors import Refusal
from idp.extensions import db
from idp.realname import documents
from idp.realname import pii
from idp.realname import verifiers
from idp.realname.models import DECLARED
from idp.realname.models import FACE
from idp.realname.models import IN_PERSON
from idp.realname.models import REGISTRY
from idp.realname.models import IdentityBinding
from idp.store import store

DAY = 24 * 3600


class RealNameError(Refusal):
    """A verification that did not raise the level; ``code`` for programs, ``message`` for
    people."""

    MESSAGES = {
        "already_bound": lambda: _(
            "This document is already bound to another account. If it is yours, you can "
            "appeal: bring the document to a service counter."),
        # every registry answer but a match (the number unknown, or held by another name)
        "mismatch": lambda: _(
            "The name and document number do not match the registry's records."),
        "unavailable": lambda: _(
            "The verification service is unavailable. Nothing was changed; try again later."),
        "too_many_attempts": lambda: _(
            "Too many verification attempts today. Try again tomorrow or visit a service "
            "counter."),
        "face_failed": lambda: _("The face check did not confirm that you are this person."),
        "not_configured": lambda: _(
            "Online verification is not offered here; visit a service counter."),
        "needs_registry": lambda: _("Verify your name and document number first."),
        "locked_binding": lambda: _(
            "Your account is bound to a verified document. To change it, visit a service "
            "counter."),
    }


# --- Reading -------------------------------------------------------------------------------

def binding_of(user) -> IdentityBinding | None:
    return IdentityBinding.query.filter_by(user_id=user.id).first()


def _context(user_id):
    return f"binding:{user_id}"


def identity_of(binding) -> dict:
    """{name, number, nationality} in clear; for claims, masking and re-verification only."""
    return pii.open_sealed(binding.key_id, binding.sealed, _context(binding.user_id))


def summary(user) -> dict | None:
    """What the account pages show: level, source, masked name and number, derived data."""
    binding = binding_of(user)
    if binding is None:
        return None
    identity = identity_of(binding)
    document = documents.parse(binding.doc_type, identity["number"], identity.get("nationality"))
    return {"level": binding.level, "source": binding.source, "doc_type": binding.doc_type,
            "doc_label": documents.type_label(binding.doc_type),
            "masked_name": mask_name(identity["name"]),
            "masked_number": documents.mask(identity["number"]),
            "verified_at": binding.verified_at, "birthdate": document.birthdate,
            "gender": document.gender}


def mask_name(name: str) -> str:
    """张三 -> *三, 欧阳小明 -> **小明 … keep the last character(s) as counter staff do."""
    name = name or ""
    if len(name) <= 1:
        return name
    keep = 1 if len(name) <= 3 else 2
    return "*" * (len(name) - keep) + name[-keep:]


def verified_claims(user) -> dict:
    """Claims derived from a verified binding (level ≥ 2): name, birthdate, gender, and the
    document for the ``id_number`` scope. Empty for an unverified account."""
    binding = binding_of(user)
    if binding is None or binding.level < REGISTRY:
        return {}
    identity = identity_of(binding)
    document = documents.parse(binding.doc_type, identity["number"], identity.get("nationality"))
    claims = {"name": identity["name"], "id_document_type": binding.doc_type,
              "id_number": document.number, "verified_at": binding.verified_at,
              "verification_source": binding.source}
    if document.birthdate:
        claims["birthdate"] = document.birthdate.isoformat()
    if document.gender:
        claims["gender"] = document.gender
    if document.nationality:
        claims["nationality"] = document.nationality
    return claims


# --- Changing ------------------------------------------------------------------------------

def _attempts_key(user):
    return f"realname-attempts:{user.id}:{date.fromtimestamp(time.time()).isoformat()}"


def _check_attempts(user):
    used = store().get(_attempts_key(user)) or 0
    if used >= current_app.config["REALNAME_ATTEMPTS_PER_DAY"]:
        raise RealNameError("too_many_attempts")


def _reserve_attempt(user):
    """Take one of today's attempts before asking a service, atomically (parallel requests
    cannot pass the limit together)."""
    if store().incr(_attempts_key(user), DAY) > current_app.config["REALNAME_ATTEMPTS_PER_DAY"]:
        _release_attempt(user)
        raise RealNameError("too_many_attempts")


def _release_attempt(user):
    """Give the attempt back: the service did not answer."""
    store().incr(_attempts_key(user), DAY, -1)


def _audit(user, source, outcome, before, after, doc_type, *, actor=None, role=None,
           reference=None, reason=None):
    detail = {"source": source, "level_before": before, "level_after": after,
              "doc_type": doc_type}
    if reference:
        detail["reference"] = reference
    if reason:
        detail["reason"] = reason
    audit.record("identity.verify", outcome, user_id=user.id, actor=actor, role=role,
                 target=f"user:{user.id}", detail=detail)


def _held_elsewhere(user, index):
    other = IdentityBinding.query.filter_by(blind_index=index).first()
    return other is not None and other.user_id != user.id


def _write(user, document, name, level, source, reference=None):
    """Create or replace the account's binding at ``level``; the account's level follows.
    A unique-index race (the same document bound concurrently) becomes ``already_bound``."""
    index = pii.blind_index(document)
    if _held_elsewhere(user, index):
        raise RealNameError("already_bound")
    kid, blob = pii.seal({"name": name, "number": document.number,
                          "nationality": document.nationality}, _context(user.id))
    binding = binding_of(user) or IdentityBinding(user_id=user.id)
    binding.doc_type, binding.blind_index = document.doc_type, index
    binding.key_id, binding.sealed = kid, blob
    binding.level, binding.source, binding.reference = level, source, reference
    binding.verified_at = int(time.time()) if level > DECLARED else None
    db.session.add(binding)
    db.session.get(User, user.id).loa = level
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise RealNameError("already_bound") from None
    return binding


def parse_document(doc_type, number, nationality=None):
    """``documents.parse`` with its error as a ``RealNameError`` carrying the precise text."""
    try:
        return documents.parse(doc_type, number, nationality or None)
    except documents.DocumentError as exc:
        raise RealNameError("invalid_document", exc.message) from None


def clean_name(name):
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 100:
        raise RealNameError("invalid_name", _("Enter your name as it is on the document."))
    return name


def declare(user, doc_type, name, number, nationality=None, *, actor=None):
    """Level 1: the citizen's (or an operator's) statement, unchecked."""
    document = parse_document(doc_type, number, nationality)
    name = clean_name(name)
    binding = binding_of(user)
    if binding is not None and binding.level > DECLARED:
        raise RealNameError("locked_binding")
    before = user.loa
    try:
        _write(user, document, name, DECLARED, "declared")
    except RealNameError as exc:
        _audit(user, "declared", "failure", before, before, doc_type, actor=actor, reason=exc.code)
        raise
    _audit(user, "declared", "success", before, DECLARED, doc_type, actor=actor)


def verify_with_registry(user, doc_type, name, number, nationality=None):
    """Level 2: name and number matched by the authoritative registry. Whether the number
    exists, or is bound to another account, is told only to someone who names its holder:
    every registry answer but a match reads "mismatch", and "already_bound" comes after a
    match. Each answered attempt counts against the day's."""
    document = parse_document(doc_type, number, nationality)
    name = clean_name(name)
    binding = binding_of(user)
    if binding is not None and binding.level >= REGISTRY:
        if binding.blind_index != pii.blind_index(document):
            raise RealNameError("locked_binding")
        return binding  # already verified with this document
    if not current_app.config["REALNAME_REGISTRY_URL"]:
        raise RealNameError("not_configured")
    _reserve_attempt(user)  # before anything that answers about the document
    person = verifiers.PersonClaim(name=name, doc_type=document.doc_type, number=document.number)
    before = user.loa
    try:
        result = verifiers.registry_verifier().verify(person)
    except verifiers.VerificationUnavailable as exc:
        _release_attempt(user)
        current_app.logger.warning("identity registry unavailable: %s", exc)
        _audit(user, "registry", "error", before, before, doc_type, reason="unavailable")
        raise RealNameError("unavailable") from None
    if not result.matched:
        # One answer whatever the registry said ("not_found" would tell that a number does
        # not exist); the audit keeps what it said.
        _audit(user, "registry", "failure", before, before, doc_type,
               reference=result.reference, reason=result.outcome)
        raise RealNameError("mismatch")
    # Only now, with name and number confirmed to belong together, may the citizen learn
    # that another account holds the document (``_write``: "already_bound").
    level = max(REGISTRY, before if binding is not None else REGISTRY)
    try:
        binding = _write(user, document, name, level, "registry", result.reference)
    except RealNameError as exc:
        _audit(user, "registry", "failure", before, before, doc_type, reason=exc.code)
        raise
    _audit(user, "registry", "success", before, level, doc_type, reference=result.reference)
    return binding


FACE_KEY = "realname-face:{}"
FACE_OF_USER = "realname-face-user:{}"


def start_face(user, return_url) -> str:
    """Begin a face check of the bound (registry-verified) person; returns where the browser
    goes. ``return_url`` gains a random ``state`` that only the browser finishing the check
    carries back; one check is open per account (a new one replaces it)."""
    binding = binding_of(user)
    if binding is None or binding.level < REGISTRY:
        raise RealNameError("needs_registry")
    if not current_app.config["REALNAME_FACE_URL"]:
        raise RealNameError("not_configured")
    _check_attempts(user)
    identity = identity_of(binding)
    person = verifiers.PersonClaim(name=identity["name"], doc_type=binding.doc_type,
                                   number=identity["number"])
    state = secrets.token_urlsafe(24)
    try:
        session = verifiers.face_verifier().start(
            person, add_params_to_uri(return_url, [("state", state)]))
    except verifiers.VerificationUnavailable as exc:
        current_app.logger.warning("face verification unavailable: %s", exc)
        _audit(user, "face", "error", user.loa, user.loa, binding.doc_type, reason="unavailable")
        raise RealNameError("unavailable") from None
    ttl = current_app.config["INTERACTION_TTL"]
    previous = store().pop(FACE_OF_USER.format(user.id))
    if previous:
        store().delete(FACE_KEY.format(previous))
    store().set(FACE_KEY.format(state), {"user_id": user.id, "session_id": session.session_id},
                ttl)
    store().set(FACE_OF_USER.format(user.id), state, ttl)
    return session.url


def finish_face(user, state, session_id):
    """Level 3 when the face service reports liveness and a match for this account's open
    check, brought back by the browser that finished it."""
    opened = store().pop(FACE_KEY.format(state)) if state else None
    if not opened or opened["user_id"] != user.id or opened["session_id"] != session_id:
        raise RealNameError("face_failed", _(
            "This face check was not started here or has expired. Start it again."))
    store().delete(FACE_OF_USER.format(user.id))
    binding = binding_of(user)
    if binding is None or binding.level < REGISTRY:
        raise RealNameError("needs_registry")
    before = user.loa
    _reserve_attempt(user)
    try:
        result = verifiers.face_verifier().result(session_id)
    except verifiers.FaceCheckIncomplete:
        _release_attempt(user)
        raise RealNameError("face_failed", _(
            "The face check was not completed. Start it again.")) from None
    except verifiers.VerificationUnavailable as exc:
        _release_attempt(user)
        current_app.logger.warning("face verification unavailable: %s", exc)
        _audit(user, "face", "error", before, before, binding.doc_type, reason="unavailable")
        raise RealNameError("unavailable") from None
    if not result.matched:
        _audit(user, "face", "failure", before, before, binding.doc_type,
               reference=result.reference, reason=result.outcome)
        raise RealNameError("face_failed")
    level = max(FACE, binding.level)
    binding.level, binding.source, binding.reference = level, "face", result.reference
    binding.verified_at = int(time.time())
    db.session.get(User, user.id).loa = level
    _audit(user, "face", "success", before, level, binding.doc_type, reference=result.reference)
    return binding


def verify_in_person(clerk, user, doc_type, name, number, nationality=None, transfer=False):
    """Level 4: a counter clerk checked the original document against the person (never
    their own: a second clerk does that). With ``transfer`` — the appeal of a citizen whose
    document is bound to another account — the document moves here and the other account
    drops to level 1 (both audited)."""
    if clerk.id == user.id:
        raise RealNameError("own_account", _(
            "Clerks cannot verify their own account; another clerk must do it."))
    document = parse_document(doc_type, number, nationality)
    name = clean_name(name)
    before = user.loa
    actor = f"user:{clerk.id}"
    other = IdentityBinding.query.filter_by(blind_index=pii.blind_index(document)).first()
    loser = None
    if transfer and other is not None and other.user_id != user.id:
        loser, loser_level = db.session.get(User, other.user_id), other.level
        db.session.delete(other)
        loser.loa = 1
        db.session.flush()
    try:
        _write(user, document, name, IN_PERSON, "counter", reference=f"clerk:{clerk.id}")
    except RealNameError as exc:
        _audit(user, "counter", "failure", before, before, doc_type, actor=actor,
               role="counter_clerk", reason=exc.code)
        raise
    if loser is not None:
        _audit(loser, "counter", "success", loser_level, 1, doc_type, actor=actor,
               role="counter_clerk", reason=f"document moved to user:{user.id} on appeal")
    _audit(user, "counter", "success", before, IN_PERSON, doc_type, actor=actor,
           role="counter_clerk", reference=f"clerk:{clerk.id}")


def reencrypt(batch=500) -> tuple[int, int]:
    """Reseal every binding not under the current key; (resealed, total)."""
    current = pii.current_key_id()
    resealed = total = 0
    last_id = 0
    while True:
        rows = (IdentityBinding.query.filter(IdentityBinding.id > last_id)
                .order_by(IdentityBinding.id).limit(batch).all())
        if not rows:
            break
        for binding in rows:
            total += 1
            if binding.key_id != current:
                identity = identity_of(binding)
                binding.key_id, binding.sealed = pii.seal(identity, _context(binding.user_id))
                resealed += 1
        last_id = rows[-1].id
        db.session.commit()
    return resealed, total
