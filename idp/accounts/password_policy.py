"""What a new password must be (NIST SP 800-63B 3.1.1.2): long enough, not too long for the
hasher, not a well-known password, not the account's own phone number. No composition rules
(they push people to ``Password1!``) and no expiry.

``problem(password, phone)`` returns None for an acceptable password, else the reason in the
page's language."""

import functools
import os
import re

from flask_babel import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128
#: The tail of the phone number that a password may not contain.
PHONE_TAIL_DIGITS = 8

LIST_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "common_passwords.txt")


@functools.cache
def common_passwords() -> frozenset[str]:
    with open(LIST_PATH, encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh
                         if line.strip() and not line.startswith("#"))


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()


def contains_phone(password: str, phone: str | None) -> bool:
    """True when the password holds the number's last 8 (or more) digits, which covers the
    whole national number and the E.164 form."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < PHONE_TAIL_DIGITS:
        return False
    # separators do not hide it: "138-0013-8000" holds it as well
    return digits[-PHONE_TAIL_DIGITS:] in re.sub(r"\D", "", password)


def problem(password: str, phone: str | None = None, check_common: bool = True) -> str | None:
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _("The password must have at least %(num)d characters.", num=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("The password must have at most %(num)d characters.", num=MAX_LENGTH)
    if check_common and is_common(password):
        return _("This password is too common and easy to guess. Choose another one.")
    if contains_phone(password, phone):
        return _("The password must not contain your phone number.")
    return None
