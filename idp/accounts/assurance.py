"""How strong a login is, computed in one place.

``amr`` (RFC 8176) lists the methods used: ``pwd``, ``otp`` (TOTP), ``sms``, ``hwk``/``swk``
(a passkey bound to a device / synced), ``kba`` (a recovery code), ``fed`` (a login at a
regional identity provider, ``idp.federation``), and ``mfa`` once two independent factors were
used.

``acr`` is the level of assurance (``ACR_VALUES``, ``urn:cn:gov:idp:loa:1`` … ``4``): the
account's identity level (1 self-declared … 4 verified in person), but levels 3 and 4 need a
multi-factor login — a verified identity behind a password alone counts as level 2.

A login through a regional provider counts at the level that provider vouched for
(``vouched``: the lower of what it asserted and what it is trusted for), above or below the
account's own level; one of the account's own second factors on top of it lets the account's
own level count as well.
"""

from flask import current_app

from mfa.models import Factor

MULTI_FACTOR = "mfa"
#: RFC 8176: a login at another identity provider.
FEDERATED = "fed"
#: The identity level above which a login must use two factors to count in full.
SINGLE_FACTOR_CEILING = 2


def is_multi_factor(amr) -> bool:
    return MULTI_FACTOR in (amr or [])


def combine(amr, more) -> list[str]:
    """The methods of a login after another factor succeeded."""
    methods = [m for m in dict.fromkeys([*(amr or []), *more]) if m != MULTI_FACTOR]
    return [*methods, MULTI_FACTOR] if len(methods) >= 2 else methods


def acr_for(user, amr, vouched=None) -> str:
    """The login's level; ``vouched``: the level a regional provider vouched for, for a login
    through one."""
    values = current_app.config["ACR_VALUES"]
    level = max(1, min(user.loa, len(values)))
    if vouched is not None:
        own = level if is_multi_factor(amr) else 1
        level = max(1, min(max(vouched, own), len(values)))
    elif not is_multi_factor(amr):
        level = min(level, SINGLE_FACTOR_CEILING)
    return values[level - 1]


def identity_level(user, vouched=None) -> int:
    """The identity level a login stands on: the account's own, or what a regional provider
    vouched for when that is higher."""
    return max(user.loa, vouched or 1)


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


def second_factor_needed(user, amr, *, require_mfa=False, level=1, vouched=None) -> bool:
    """Whether a login (or an SSO session being reused) must add a second factor:
    the citizen has enrolled one (then every login uses it), the platform's policy demands
    it, or the platform needs a level this citizen reaches only with two factors. A login
    through a regional provider (``vouched``) stands in for the account's own factors up to
    the level the provider vouched for; beyond it, one of them is asked for."""
    if is_multi_factor(amr):
        return False
    if require_mfa:
        return True
    if vouched is not None:
        return vouched < level
    if has_second_factor(user):
        return True
    return level > SINGLE_FACTOR_CEILING and user.loa > SINGLE_FACTOR_CEILING
