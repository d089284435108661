"""The one interface every second factor implements, and the list of them.

A second factor is a plugin (after flask-security's ``tf_plugin.py``): it names its ``kind``,
says whether a user can use it now and which RFC 8176 ``amr`` values a successful use adds to
the ID token. Enrolment and verification differ too much between factors (a code, a WebAuthn
ceremony) to share one signature; each module documents its own. Adding a factor means
writing its plugin class and listing it in :func:`plugins`.
"""

from typing import Protocol

from mfa.models import Factor


class SecondFactor(Protocol):
    #: Stable name, equal to ``Factor.kind`` for factors kept in ``mfa_factors``.
    kind: str

    def amr(self, factor: Factor | None) -> list[str]:
        """Authentication method references (RFC 8176 section 2) for one successful use of
        ``factor`` (None for factors without a row, such as recovery codes)."""

    def available_for(self, user) -> bool:
        """True when ``user`` has this factor set up and can use it now."""


def plugins() -> tuple[SecondFactor, ...]:
    """Every second factor, in the order they are offered to a user."""
    # imported here: each plugin module imports this one
    from mfa.email import EmailCode
    from mfa.recovery import RecoveryCodes
    from mfa.sms import SmsCode
    from mfa.totp import Totp
    from mfa.webauthn import WebAuthn

    return (WebAuthn(), Totp(), SmsCode(), EmailCode(), RecoveryCodes())


def plugin(kind: str) -> SecondFactor:
    """The plugin of ``kind`` (e.g. ``Factor.kind``); ``KeyError`` when there is none."""
    for candidate in plugins():
        if candidate.kind == kind:
            return candidate
    raise KeyError(kind)


def factors_for(user) -> list[SecondFactor]:
    """The second factors ``user`` can use now, in the order of :func:`plugins`."""
    return [candidate for candidate in plugins() if candidate.available_for(user)]


def factor_name(name: str | None, default: str) -> str:
    """A user-given factor label, trimmed to ``Factor.name``'s 64 characters, or ``default``."""
    return " ".join((name or "").split())[:64] or default
