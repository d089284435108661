"""How strong a login is, computed in one place.

``amr`` (RFC 8176) lists the methods used: ``pwd``, ``otp`` (TOTP), ``sms``, ``hwk``/``swk``
(a passkey bound to a device / synced), ``kba`` (a recovery code), and ``mfa`` once two
independent factors were used.

``acr`` is the level of assurance (``ACR_VALUES``, ``urn:cn:gov:idp:loa:1`` … ``4``): the
account's identity level (1 self-declared … 4 verified in person), but levels 3 and 4 need a
multi-factor login — a verified identity behind a password alone counts as level 2.
"""

from flask import current_app

from mfa.models import Factor

MULTI_FACTOR = "mfa"
#: The identity level above which a login must use two factors to count in full.
SINGLE_FACTOR_CEILING = 2


def is_multi_factor(amr) -> bool:
    return MULTI_FACTOR in (amr or [])


def combine(amr, more) -> list[str]:
    """The methods of a login after another factor succeeded."""
    methods = [m for m in dict.fromkeys([*(amr or []), *more]) if m != MULTI_FACTOR]
    return [*methods, MULTI_FACTOR] if len(methods) >= 2 else methods


def acr_for(user, amr) -> str:
    values = current_app.config["ACR_VALUES"]
    level = max(1, min(user.loa, len(values)))
    if not is_multi_factor(amr):
        level = min(level, SINGLE_FACTOR_CEILING)
    return values[level - 1]


def level_of(acr) -> int:
    values = current_app.config["ACR_VALUES"]
    return values.index(acr) + 1 if acr in values else 0


def required_level(client, acr_values=()) -> int:
    """The level a login for ``client`` must reach: the platform's minimum, raised to the
    lowest of the ``acr_values`` it asked for (they are alternatives, in order of preference;
    unknown values are ignored)."""
    asked = [level for level in map(level_of, acr_values) if level]
    return max(getattr(client, "min_loa", 1) or 1, min(asked) if asked else 1)


def has_second_factor(user) -> bool:
    return Factor.query.filter_by(user_id=user.id, confirmed=True).first() is not None


def second_factor_needed(user, amr, *, require_mfa=False, level=1) -> bool:
    """Whether a login (or an SSO session being reused) must add a second factor:
    the citizen has enrolled one (then every login uses it), the platform's policy demands
    it, or the platform needs a level this citizen reaches only with two factors."""
    if is_multi_factor(amr):
        return False
    if require_mfa or has_second_factor(user):
        return True
    return level > SINGLE_FACTOR_CEILING and user.loa > SINGLE_FACTOR_CEILING
