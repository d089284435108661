"""Recovery codes: ten at a time, each good once, kept only as hashes."""

import re

import pytest
from sqlalchemy import select
from sqlalchemy import text

from idp.audit.models import AuditEvent
from idp.extensions import db
from mfa import recovery
from mfa.base import factors_for
from mfa.base import plugin
from tests import factories as f


@pytest.fixture
def user(app):
    with app.app_context():
        yield f.user()


def _events(action):
    query = select(AuditEvent.outcome).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return db.session.execute(query).scalars().all()


def test_generate_shows_ten_codes_once_and_keeps_hashes(app, user):
    codes = recovery.generate(user)
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{2}",
                            code) for code in codes)
    stored = db.session.execute(text("SELECT code_hash FROM mfa_recovery_codes")).scalars().all()
    assert len(stored) == 10 and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)
    assert not {c.replace("-", "") for c in codes} & set(stored)
    assert recovery.remaining(user) == 10
    assert [p.kind for p in factors_for(user)] == ["sms", "recovery"]  # sms: no app yet
    assert plugin("recovery").amr(None) == ["otp"]
    assert _events("mfa.recovery_codes.generated") == ["success"]


def test_use_once(app, user):
    code = recovery.generate(user)[3]
    assert recovery.use(user, code)
    assert recovery.remaining(user) == 9
    assert recovery.use(user, recovery.generate(user)[0]) is True
    assert _events("mfa.recovery_code.used") == ["success", "success"]


def test_reuse_is_refused(app, user):
    code = recovery.generate(user)[0]
    assert recovery.use(user, code)
    assert not recovery.use(user, code)
    assert recovery.remaining(user) == 9
    assert _events("mfa.recovery_code.used") == ["success", "failure"]


def test_input_is_normalised(app, user):
    codes = recovery.generate(user)
    assert recovery.use(user, " " + codes[0].upper().replace("-", " ") + " ")
    assert recovery.use(user, codes[1].replace("-", ""))
    # look-alikes read as the digits they resemble
    tricky = codes[2].replace("1", "l").replace("0", "O")
    assert recovery.use(user, tricky)


def test_regenerating_invalidates_old_codes(app, user):
    old = recovery.generate(user)
    new = recovery.generate(user)
    assert not recovery.use(user, old[0])
    assert recovery.use(user, new[0])
    assert recovery.remaining(user) == 9


def test_codes_belong_to_their_user(app, user):
    code = recovery.generate(user)[0]
    other = f.user(phone="13900139000")
    recovery.generate(other)
    assert not recovery.use(other, code)
    assert recovery.use(user, code)


@pytest.mark.parametrize("bad", ["", None, "abcd-efgh-j", "abcd-efgh-jkm", "abcd-efgh-j!",
                                 "abcd-efgh-ju", "ａｂｃｄ-ｅｆｇｈ-ｊｋ"])
def test_wrong_format_is_refused_without_an_audit_event(app, user, bad):
    recovery.generate(user)
    assert recovery.use(user, bad) is False
    assert recovery.remaining(user) == 10
    assert _events("mfa.recovery_code.used") == []


def test_without_codes_nothing_is_available(app, user):
    assert recovery.remaining(user) == 0
    assert [p.kind for p in factors_for(user)] == ["sms"]  # only the text message
    assert not recovery.use(user, "abcd-efgh-jk")
