"""TOTP enrolment and verification, in frozen time: a code is good once, within one step."""

import base64
import time

import pyotp
import pytest
from cryptography.exceptions import InvalidTag
from freezegun import freeze_time
from sqlalchemy import text

from idp.crypto import open_sealed
from idp.extensions import db
from mfa import totp
from mfa.base import factors_for
from mfa.base import plugin
from tests import factories as f

START = "2026-05-01 12:00:00"  # a multiple of 30 seconds


def _enrolled(user):
    """A confirmed factor and its pyotp twin; the confirming code was at START - 10 min."""
    factor, _, _, secret_text = totp.begin_enrolment(user, "手机")
    app_side = pyotp.TOTP(secret_text.replace(" ", ""))
    with freeze_time(START) as frozen:
        frozen.tick(-600)
        assert totp.confirm(factor, app_side.now())
    return factor, app_side


@pytest.fixture
def user(app):
    with app.app_context():
        yield f.user()


def test_enrolment_material(app, user):
    factor, uri, qr_svg, secret_text = totp.begin_enrolment(user, "  我的 手机 ")
    secret = secret_text.replace(" ", "")
    assert len(secret) == 32 and len(secret_text.split()) == 8  # 160 bits
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert "issuer=%E7%BB%9F%E4%B8%80" in uri and "8000" in uri and "13800138000" not in uri
    assert qr_svg.startswith("<svg") and "<path" in qr_svg
    assert (factor.kind, factor.confirmed, factor.name) == ("totp", False, "我的 手机")


def test_valid_code(app, user):
    factor, app_side = _enrolled(user)
    with freeze_time(START):
        assert totp.verify(user, app_side.now()) == factor
        assert factor.last_timecode == int(time.time()) // 30
        assert factor.last_used_at == int(time.time())
    assert plugin("totp").amr(factor) == ["otp"]
    assert [p.kind for p in factors_for(user)] == ["totp"]


def _wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_codes_are_six_digits_spaces_ignored(app, user):
    _, app_side = _enrolled(user)
    with freeze_time(START):
        code = app_side.now()
        for bad in ("", None, code[:5], code + "0", "abcdef", "١٢٣٤٥٦", " ", "12 34 5"):
            assert totp.verify(user, bad) is None
        assert totp.verify(user, f" {code[:3]} {code[3:]} ") is not None


def test_wrong_code(app, user):
    _, app_side = _enrolled(user)
    with freeze_time(START):
        assert totp.verify(user, _wrong(app_side.now())) is None


def test_replay_in_the_same_window_is_refused(app, user):
    _, app_side = _enrolled(user)
    with freeze_time(START):
        code = app_side.now()
        assert totp.verify(user, code) is not None
        assert totp.verify(user, code) is None


def test_previous_window_code_is_refused_after_a_newer_one(app, user):
    _, app_side = _enrolled(user)
    with freeze_time(START) as frozen:
        first = app_side.now()
        assert totp.verify(user, first) is not None
        frozen.tick(30)
        # still inside the one-step window, but not newer than the last accepted step
        assert totp.verify(user, first) is None
        assert totp.verify(user, app_side.now()) is not None


def test_next_window_code_then_current_one_is_refused(app, user):
    _, app_side = _enrolled(user)
    with freeze_time(START) as frozen:
        assert totp.verify(user, app_side.at(frozen().timestamp() + 30)) is not None
        assert totp.verify(user, app_side.now()) is None


def test_code_from_two_windows_ago_is_refused(app, user):
    _, app_side = _enrolled(user)
    with freeze_time(START) as frozen:
        old = app_side.at(frozen().timestamp() - 60)
        assert totp.verify(user, old) is None
        assert totp.verify(user, app_side.at(frozen().timestamp() - 30)) is not None


def test_unconfirmed_factor_is_not_usable(app, user):
    factor, _, _, secret_text = totp.begin_enrolment(user, None)
    app_side = pyotp.TOTP(secret_text.replace(" ", ""))
    with freeze_time(START) as frozen:
        assert totp.verify(user, app_side.now()) is None
        assert [p.kind for p in factors_for(user)] == ["sms"]  # only the text message
        assert not totp.confirm(factor, _wrong(app_side.now()))
        assert totp.confirm(factor, app_side.now())
        # the confirming code is spent; confirming twice is refused
        assert totp.verify(user, app_side.now()) is None
        assert not totp.confirm(factor, app_side.now())
        frozen.tick(30)
        assert totp.verify(user, app_side.now()) == factor


def test_a_new_enrolment_replaces_an_unconfirmed_one(app, user):
    _enrolled(user)
    totp.begin_enrolment(user, "a")
    totp.begin_enrolment(user, "b")
    rows = db.session.execute(text("SELECT name FROM mfa_factors ORDER BY name")).scalars()
    assert rows.all() == ["b", "手机"]


def test_secret_is_not_stored_in_clear(app, user):
    factor, _, _, secret_text = totp.begin_enrolment(user, "手机")
    secret = secret_text.replace(" ", "")
    raw = db.session.execute(text("SELECT secret_sealed FROM mfa_factors WHERE id = :id"),
                             {"id": factor.id}).scalar_one()
    raw = bytes(raw)
    assert secret.encode() not in raw and secret.lower().encode() not in raw
    assert base64.b32decode(secret) not in raw
    assert open_sealed(raw, f"totp:{factor.id}") == secret.encode()


def test_sealed_secret_does_not_open_for_another_row(app, user):
    factor, _ = _enrolled(user)
    with pytest.raises(InvalidTag):
        open_sealed(factor.secret_sealed, f"totp:{factor.id + 1}")
