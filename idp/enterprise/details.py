"""Matters, and the RFC 9396 ``authorization_details`` of type ``cn_gov_enterprise_matters``.

A *matter* is a government service item (事项) an enterprise's people may handle, named by the
code of the platform's service catalogue (letters, digits and ``. _ : -``, at most 100
characters). Authority is for all matters (stored as None, written ``"*"`` in tokens) or a
list of them.

A platform may ask at ``/authorize`` for what the login must be able to do::

    authorization_details=[{"type": "cn_gov_enterprise_matters",
                            "matters": ["tax.declare"],          # required, 1-50 codes
                            "credit_code": "911101080000000194"}]  # optional: this enterprise

and the tokens carry what was granted (the token response, the JWT access token, userinfo and
introspection)::

    [{"type": "cn_gov_enterprise_matters", "credit_code": "…", "role": "handler",
      "matters": ["tax.declare"], "valid_until": 1767225600}]   # valid_until when it ends

``matters`` granted are those asked for, else all the person's authority covers (``["*"]`` for
all). A request that is not a JSON array of objects each with a string ``type`` is
``invalid_request``; an unknown type, an unknown member, a wrong value, a missing ``matters``
or two different credit codes (one login acts for one enterprise) is
``invalid_authorization_details`` (RFC 9396 5).
"""

import re
from dataclasses import dataclass

from idp import json_input
from idp.enterprise import codes

TYPE = "cn_gov_enterprise_matters"
ALL = "*"
MATTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
MAX_MATTERS = 50
MAX_PARAMETER = 4096
MEMBERS = {"type", "matters", "credit_code"}
UNSAFE = re.compile(r'[^\x20-\x21\x23-\x5b\x5d-\x7e]')


class DetailsError(ValueError):
    """``error`` is the OAuth error code (``invalid_request`` or
    ``invalid_authorization_details``), ``str()`` the description: what the request held is
    quoted only in the characters an ``error_description`` may carry (RFC 6749 5.2)."""

    def __init__(self, error, description):
        super().__init__(UNSAFE.sub("?", description))
        self.error = error


@dataclass(frozen=True)
class Asked:
    """What a platform asked for: the matters (at least one) and, optionally, the enterprise."""

    matters: tuple[str, ...]
    credit_code: str = ""


def clean_matters(values) -> tuple[str, ...] | None:
    """Matter codes from a list (the command line, a JSON member) or a text (a form: separated
    by spaces, commas or new lines): a sorted tuple without repeats, None for all matters
    (nothing given, or ``*``); ``ValueError`` naming a bad code."""
    if isinstance(values, str):
        values = re.split(r"[\s,，、;；]+", values)
    values = [v for v in (values or ()) if v != ""]
    if not values or values == [ALL]:
        return None
    if len(values) > MAX_MATTERS:
        raise ValueError(f"at most {MAX_MATTERS} matters")
    for value in values:
        if not isinstance(value, str) or not MATTER.fullmatch(value):
            raise ValueError(f"{str(value)[:40]!r} is not a matter code (letters, digits and "
                             ". _ : -, at most 100 characters)")
    return tuple(sorted(set(values)))


def parse(raw) -> Asked | None:
    """The ``authorization_details`` request parameter; None when absent; ``DetailsError``."""
    if raw is None:
        return None
    if len(raw) > MAX_PARAMETER:
        raise DetailsError("invalid_request", "'authorization_details' is too long.")
    try:
        value = json_input.loads(raw)
    except ValueError:
        raise DetailsError("invalid_request", "'authorization_details' is not JSON.") from None
    if not isinstance(value, list) or not value or not all(
            isinstance(item, dict) and isinstance(item.get("type"), str) for item in value):
        raise DetailsError("invalid_request", "'authorization_details' must be a JSON array "
                                              "of objects, each with a string 'type'.")
    matters, credit_codes = set(), set()
    for item in value:
        if item["type"] != TYPE:
            raise DetailsError("invalid_authorization_details",
                               f"Unknown authorization details type {item['type'][:60]!r} "
                               f"(this server knows {TYPE}).")
        unknown = sorted(set(item) - MEMBERS)
        if unknown:
            raise DetailsError("invalid_authorization_details",
                               f"Unknown member of {TYPE}: {', '.join(unknown)[:100]}.")
        asked = item.get("matters")
        if not isinstance(asked, list) or not asked:
            raise DetailsError("invalid_authorization_details",
                               f"{TYPE} needs 'matters': a non-empty array of matter codes.")
        try:
            matters.update(clean_matters(asked) or (ALL,))
        except ValueError as exc:
            raise DetailsError("invalid_authorization_details", f"'matters': {exc}.") from None
        if "credit_code" in item:
            try:
                credit_codes.add(codes.parse(item["credit_code"]).code)
            except codes.CreditCodeError as exc:
                raise DetailsError("invalid_authorization_details",
                                   f"'credit_code' is not valid ({exc.code}).") from None
    if len(credit_codes) > 1:
        raise DetailsError("invalid_authorization_details",
                           "One login acts for one enterprise: the credit codes differ.")
    if len(matters) > MAX_MATTERS:
        raise DetailsError("invalid_authorization_details", f"At most {MAX_MATTERS} matters.")
    return Asked(tuple(sorted(matters)), next(iter(credit_codes), ""))


def covers(held, wanted) -> bool:
    """Whether authority for ``held`` (None: all) includes every one of ``wanted`` (``*``:
    all matters, which only authority for all matters covers)."""
    if held is None:
        return True
    return ALL not in wanted and set(wanted) <= set(held)


def intersect(first, second):
    """The matters both allow (None: all); an empty tuple when none."""
    if first is None:
        return second
    if second is None:
        return first
    return tuple(sorted(set(first) & set(second)))


def written(matters) -> list[str]:
    """Matters as tokens carry them: the list, or ``["*"]`` for all."""
    return [ALL] if matters is None else list(matters)
