"""One reading of a phone number (``idp.accounts.service.normalise_phone``, phonenumbers):
E.164 storage, mainland China as the default region, mobile numbers only; the same answer
for registration, login, the command line, the counter and the administration."""

import pytest

from idp.accounts.service import AccountError
from idp.accounts.service import find_by_identifier
from idp.accounts.service import normalise_phone
from tests import factories as f


@pytest.mark.parametrize("raw, e164", [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("(138) 0013 8000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("  13800138000 ", "+8613800138000"),
    ("+852 5123 4567", "+85251234567"),
    ("00852 5123 4567", "+85251234567"),
])
def test_mobile_numbers_in_any_usual_form_become_e164(app, raw, e164):
    with app.app_context():
        assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", [
    "", "   ", "12345", "1380013800", "138001380001",  # too short, too long
    "010 12345678",  # a Beijing landline: it cannot receive a code
    "+999 1234", "+86", "not a number", "alice", "1" * 40, None, 13800138000,
])
def test_anything_else_is_refused(app, raw):
    with app.app_context(), pytest.raises(AccountError, match="is not a valid phone number"):
        normalise_phone(raw)


@pytest.mark.config(SMS_DEFAULT_REGION="HK")
def test_national_numbers_are_read_in_the_configured_region(app):
    with app.app_context():
        assert normalise_phone("5123 4567") == "+85251234567"
        assert normalise_phone("+86 138 0013 8000") == "+8613800138000"


def test_a_login_finds_the_account_whatever_the_form_of_its_number(app):
    with app.app_context():
        user = f.user(phone="+852 5123 4567")
        assert user.phone == "+85251234567"
        for typed in ("+85251234567", "00852 5123-4567", "+852 5123 4567"):
            assert find_by_identifier(typed).id == user.id
        assert find_by_identifier("5123 4567") is None  # read as a mainland number: none
        with pytest.raises(AccountError):
            f.user(phone="010 12345678")
