"""The one interface every second factor implements, and the list of them.

A second factor is a plugin (after flask-security's ``tf_plugin.py``). The login journey
(``idp.interaction.factors``) drives every factor through the same two calls, with one try
counter, one rate limit and one audit path:

* ``begin(user, state)`` starts a verification: sends a code, makes a challenge. ``state`` is
  the factor's part of the journey (a dict kept with it); the return value is what a browser
  script needs (JSON text), or None for a form.
* ``verify(user, state, submission)`` checks the answer (the posted form, or the script's JSON
  text): the :class:`~mfa.models.Factor` row that verified it, ``True`` for a factor kept
  without one (a code sent to the phone), or a false value.

On ``/account`` the same plugins enrol (``enrol_begin``/``enrol_finish``, for the factors a
citizen adds there) and ``remove`` what was enrolled. Message codes (text message, email) are
enrolled by confirming the address (at registration, on ``/account/email``).

Adding a factor means writing its module with a plugin class and listing it in
:func:`plugins`; the login page shows it through its ``kind`` (``templates/accounts/mfa.html``).
"""

from flask_babel import gettext as _

from idp.extensions import db
from mfa.models import Factor


class Rejected(Exception):
    """A factor refused an answer for a reason worth recording (``code``; ``message`` for
    logs, never shown as is). A plain wrong code is just a false ``verify``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SecondFactor:
    """The base of every plugin, with the defaults of a factor checked by a form."""

    #: Stable name, equal to ``Factor.kind`` for factors kept in ``mfa_factors``.
    kind = ""
    #: An authenticator the citizen holds (an app, a passkey). Weaker factors (codes sent by
    #: text message or email) are offered only to citizens who have no strong one.
    strong = False
    #: Verified by a browser script (JSON in and out, e.g. WebAuthn) instead of a form.
    script = False

    def amr(self, factor: Factor | None) -> list[str]:
        """Authentication method references (RFC 8176 section 2) for one successful use of
        ``factor`` (None for factors without a row, such as recovery codes)."""
        raise NotImplementedError

    def available_for(self, user) -> bool:
        """True when ``user`` has this factor set up and can use it now."""
        raise NotImplementedError

    def begin(self, user, state: dict) -> str | None:
        """Start a verification for ``user``; may raise ``mfa.codes.RateLimited`` or
        ``mfa.codes.DeliveryError`` (nothing was sent)."""
        return None

    def verify(self, user, state: dict, submission) -> Factor | bool | None:
        """The factor that accepts ``submission`` now (``True`` without a row), else a false
        value or :class:`Rejected`. Single use: an accepted answer is never accepted again."""
        raise NotImplementedError

    def notice(self, user) -> tuple[str, dict] | None:
        """A page (template, context) to show after a successful use, before going on."""
        return None

    def rejected(self) -> str:
        """What the citizen is told when an answer is refused."""
        return _("The code is not correct or has already been used.")

    def undelivered(self) -> str:
        """What the citizen is told when ``begin`` could not deliver a code."""
        return _("We could not send the code just now. Try again in a few minutes.")


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


def kinds() -> tuple[str, ...]:
    return tuple(candidate.kind for candidate in plugins())


def strong_kinds() -> tuple[str, ...]:
    return tuple(candidate.kind for candidate in plugins() if candidate.strong)


def factors_for(user) -> list[SecondFactor]:
    """The second factors ``user`` can use now, in the order of :func:`plugins`."""
    return [candidate for candidate in plugins() if candidate.available_for(user)]


def has_strong_factor(user) -> bool:
    return db.session.execute(
        db.select(Factor.id).where(Factor.user_id == user.id, Factor.confirmed.is_(True),
                                   Factor.kind.in_(strong_kinds())).limit(1)).first() is not None


def count_strong_factors(user) -> int:
    return Factor.query.filter(Factor.user_id == user.id, Factor.confirmed.is_(True),
                               Factor.kind.in_(strong_kinds())).count()


def remove(factor: Factor) -> None:
    """Remove an enrolled factor (a row of ``mfa_factors``). Commits."""
    db.session.delete(factor)
    db.session.commit()


def factor_name(name: str | None, default: str) -> str:
    """A user-given factor label, trimmed to ``Factor.name``'s 64 characters, or ``default``."""
    return " ".join((name or "").split())[:64] or default
