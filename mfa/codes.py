"""One-time codes sent to an address the person controls (a phone number, an email address):
how they are made, kept, checked, rate-limited and handed over. ``mfa.sms`` and ``mfa.email``
each keep one :class:`CodeBook` and add their own senders and message texts; both share the
errors here and the development :class:`Outbox`.

A code is 6 random digits, kept in the shared store only as an HMAC (keyed with
``SECRET_KEY``) bound to purpose, address and code; single use (taken with ``pop``); a number
of wrong tries and it is dead. Addresses are personal data: store keys hold them only hashed.
Rate limits count in the store, so every worker and node shares them.
"""

import hashlib
import hmac
import logging
import math
import secrets
import time
from dataclasses import asdict
from dataclasses import dataclass

from flask import current_app
from flask import has_request_context
from flask import request

from idp.store import store
from mfa.base import SecondFactor
from mfa.base import has_strong_factor

log = logging.getLogger(__name__)

CODE_DIGITS = 6
#: What codes sent as a login's second factor are bound to.
LOGIN_PURPOSE = "login-mfa"


class RateLimited(Exception):
    """Too many codes for this address or from this client; ``retry_after`` in seconds and
    ``scope``: ``<target>_interval``, ``<target>_hour`` or ``ip_hour``."""

    def __init__(self, retry_after, scope):
        super().__init__(f"code rate limit ({scope}); retry after {retry_after} s")
        self.retry_after = max(1, int(retry_after))
        self.scope = scope


class DeliveryError(Exception):
    """The message could not be handed over for delivery (refused, unreachable, too slow)."""


class Outbox:
    """Development and testing: a channel's last ``size`` messages under one store key, newest
    first, for ``/dev/<channel>-outbox`` and ``idp <channel> outbox``. Refused in production."""

    def __init__(self, key, size=50, ttl=3600, mask=str, label="message", logger=log):
        self.key, self.size, self.ttl = key, size, ttl
        self.mask, self.label, self.log = mask, label, logger

    def send(self, message):
        entry = asdict(message)
        entry["at"] = int(time.time())
        messages = [entry] + self.messages()
        store().set(self.key, messages[: self.size], self.ttl)
        self.log.info("%s to %s queued in the development outbox", self.label,
                      self.mask(message.to))

    def messages(self):
        return store().get(self.key) or []


def client_ip():
    return (request.remote_addr if has_request_context() else None) or "-"


def language(locale=None):
    """"en" or "zh" (the default) for ``locale``, else for the current request."""
    if locale is None and has_request_context():
        from flask_babel import get_locale

        locale = get_locale()
    return "en" if locale is not None and str(locale).lower().startswith("en") else "zh"


def _hashed(value):
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CodeBook:
    """Codes of one channel. ``namespace`` prefixes the store keys; ``target`` names the
    address kind in rate-limit scopes ("phone", "address"); the ``*_key`` fields name the
    config keys of the lifetime, the tries and the limits."""

    namespace: str
    target: str
    ttl_key: str
    attempts_key: str
    interval_key: str
    per_hour_key: str
    ip_per_hour_key: str

    def ttl(self):
        return int(current_app.config[self.ttl_key])

    def _code_key(self, address, purpose):
        return f"{self.namespace}:code:{purpose}:{_hashed(address)}"

    @staticmethod
    def _digest(address, purpose, code):
        key = current_app.config["SECRET_KEY"].encode()
        return hmac.new(key, f"{purpose}\x00{address}\x00{code}".encode(),
                        hashlib.sha256).hexdigest()

    def check_rate(self, address, ip=None):
        """Count one send against the per-address and per-client limits, or raise."""
        cfg = current_app.config
        s = store()
        ip = ip or client_ip()
        cool_key = f"{self.namespace}:cool:{_hashed(address)}"
        interval = int(cfg[self.interval_key])
        if interval > 0 and not s.add(cool_key, time.time() + interval, interval):
            until = s.get(cool_key)
            raise RateLimited(math.ceil(until - time.time()) if until else 1,
                                    f"{self.target}_interval")
        try:
            ip_key = f"{self.namespace}:ip:{_hashed(ip)}"
            if s.incr(ip_key, 3600) > int(cfg[self.ip_per_hour_key]):
                raise RateLimited(s.ttl(ip_key) or 1, "ip_hour")
            hour_key = f"{self.namespace}:hour:{_hashed(address)}"
            if s.incr(hour_key, 3600) > int(cfg[self.per_hour_key]):
                raise RateLimited(s.ttl(hour_key) or 1, f"{self.target}_hour")
        except RateLimited:
            # nothing is sent: do not also hold the address back for the short interval
            s.delete(cool_key)
            raise

    def issue(self, address, purpose):
        """A fresh code for ``purpose`` at ``address``, replacing any earlier one (limits
        already checked). Returns the code; :meth:`discard` takes it back if sending fails."""
        code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
        ttl = self.ttl()
        store().set(self._code_key(address, purpose),
                    {"digest": self._digest(address, purpose, code), "tries": 0,
                     "expires_at": int(time.time()) + ttl}, ttl)
        return code

    def discard(self, address, purpose):
        store().delete(self._code_key(address, purpose))

    def send(self, address, purpose, deliver):
        """Check the limits, issue a fresh code and hand ``{"code", "minutes"}`` to
        ``deliver``; when it raises :class:`DeliveryError` the code is taken back (none is left
        behind)."""
        self.check_rate(address)
        code = self.issue(address, purpose)
        try:
            deliver({"code": code, "minutes": max(1, self.ttl() // 60)})
        except DeliveryError:
            self.discard(address, purpose)
            raise

    def verify(self, address, purpose, code) -> bool:
        """True once for the right code; a wrong code counts a try, and after the configured
        number of wrong tries the code is dead.

        The entry is taken out of the store while it is checked, so concurrent guesses cannot
        share one try, and a right code cannot be used twice."""
        key = self._code_key(address, purpose)
        entry = store().pop(key)
        if entry is None:
            return False
        left = entry["expires_at"] - int(time.time())
        if left <= 0:
            return False
        code = (code or "").strip()
        if hmac.compare_digest(entry["digest"], self._digest(address, purpose, code)):
            return True
        entry["tries"] += 1
        if entry["tries"] < int(current_app.config[self.attempts_key]):
            # put it back unless a new code has replaced it meanwhile
            store().add(key, entry, left)
        return False


class MessageCode(SecondFactor):
    """A second factor whose code travels in a message to an address the account confirmed
    (the base of ``SmsCode`` and ``EmailCode``). Others may reach such an address too (SIM
    swap, a shared mailbox), so it is offered only to citizens without a strong factor: it lets
    them meet a platform's MFA policy and never downgrades someone who has an app or a key.
    Subclasses name the address, the channel's :class:`CodeBook` and its ``send`` function."""

    codes: CodeBook

    def address(self, user) -> str | None:
        raise NotImplementedError

    def send(self, address, purpose):
        raise NotImplementedError

    def available_for(self, user) -> bool:
        return bool(self.address(user)) and not has_strong_factor(user)

    def begin(self, user, state):
        self.send(self.address(user), LOGIN_PURPOSE)
        state["sent"] = True
        return None

    def verify(self, user, state, submission):
        return self.codes.verify(self.address(user), LOGIN_PURPOSE, submission.get("code", ""))
