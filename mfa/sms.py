"""One-time codes by text message: senders behind one interface, codes, and their rate limits.

Senders (config ``SMS_SENDER``):

* ``outbox`` (development and testing): keeps the last messages in the shared store, where
  ``/dev/sms-outbox`` and ``idp sms outbox`` show them. Refused in production.
* ``http``: one signed JSON POST to the operator's SMS gateway (``SMS_GATEWAY_URL``), with
  ``X-Signature: sha256=<hex HMAC-SHA256 of the body keyed with SMS_GATEWAY_SECRET>``,
  ``X-Timestamp`` and ``X-Request-Id`` (the shared client, ``idp.signed_http``). One attempt
  only: a failed send raises ``mfa.codes.DeliveryError`` and the person asks again (within the rate
  limits) instead of the app retrying into a struggling gateway.

Codes (``mfa.codes.CodeBook``, shared with email codes): 6 random digits, kept in the store
only as an HMAC bound to purpose and phone number, single use (taken with ``pop``),
``SMS_CODE_MAX_ATTEMPTS`` wrong tries and the code is dead. Rate limits count in the store, so
every worker and node shares them.

Errors are typed; the only texts shown to people are the plugin's (``SecondFactor.undelivered``).
"""

import json
import logging
import uuid
from dataclasses import dataclass
from dataclasses import field
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

from idp.signed_http import STATUS
from idp.signed_http import TIMEOUT
from idp.signed_http import SignedHttpClient
from idp.signed_http import SignedHttpError
from mfa.codes import CodeBook
from mfa.codes import DeliveryError
from mfa.codes import MessageCode
from mfa.codes import Outbox
from mfa.codes import language

log = logging.getLogger(__name__)

OUTBOX_KEY = "sms:outbox"

#: Message texts per language. Operators register fixed templates with the carriers, so these
#: are not gettext messages: ``template`` and ``params`` go to the gateway alongside the text.
TEMPLATES = {
    "verification_code": {
        "zh": "【统一身份认证】您的验证码是{code}，{minutes}分钟内有效。请勿告诉他人。",
        "en": "[Unified Identity Authentication] Your verification code is {code}. It is valid "
              "for {minutes} minutes. Do not share it with anyone.",
    },
}


@dataclass
class SmsMessage:
    to: str
    text: str
    template: str
    params: dict = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class SmsSender(Protocol):
    def send(self, message: SmsMessage) -> None:
        """Hand the message over for delivery, or raise ``DeliveryError``."""


def mask(phone: str) -> str:
    """``+8613800138000`` -> ``+86138****8000``: enough to tell numbers apart in logs."""
    if len(phone) < 9:
        return "****"
    return phone[:-8] + "****" + phone[-4:]


def outbox():
    """The development outbox, newest first."""
    return Outbox(OUTBOX_KEY).messages()


class HttpGatewaySender:
    """One signed JSON POST per message, through the shared client (``idp.signed_http``:
    separate connect and read timeouts, no ``*_proxy`` environment variable can reroute codes,
    ``X-Signature`` over the body). One attempt: no retries."""

    def __init__(self, url, secret, connect_timeout=2.0, read_timeout=5.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("SMS_GATEWAY_URL must be an absolute http(s) URL")
        self.url = url
        self.client = SignedHttpClient(url, secret, connect_timeout=connect_timeout,
                                       read_timeout=read_timeout, retries=0,
                                       user_agent="gov-idp-sms/1")

    def body_of(self, message):
        return json.dumps({"to": message.to, "text": message.text, "template": message.template,
                           "params": message.params, "request_id": message.request_id},
                          ensure_ascii=False, separators=(",", ":")).encode()

    def send(self, message):
        try:
            self.client.post(body=self.body_of(message), request_id=message.request_id)
        except SignedHttpError as exc:
            if exc.kind == TIMEOUT:
                log.warning("SMS gateway timed out for %s (request %s)", mask(message.to),
                            message.request_id)
                raise DeliveryError("the SMS gateway did not answer in time") from exc
            if exc.kind == STATUS:
                log.warning("SMS gateway answered %s for %s (request %s)", exc.status,
                            mask(message.to), message.request_id)
                raise DeliveryError(f"the SMS gateway answered {exc.status}") from exc
            log.warning("SMS gateway unreachable for %s (request %s): %s", mask(message.to),
                        message.request_id, exc.cause)
            raise DeliveryError(f"the SMS gateway is unreachable ({exc.cause})") from exc
        log.info("SMS to %s handed to the gateway (request %s)", mask(message.to),
                 message.request_id)


def sender() -> SmsSender:
    """The sender configured by ``SMS_SENDER``."""
    cfg = current_app.config
    kind = cfg["SMS_SENDER"]
    if kind == "http":
        return HttpGatewaySender(cfg["SMS_GATEWAY_URL"], cfg["SMS_GATEWAY_SECRET"],
                                 cfg["SMS_GATEWAY_CONNECT_TIMEOUT"],
                                 cfg["SMS_GATEWAY_READ_TIMEOUT"])
    if kind == "outbox":
        return Outbox(OUTBOX_KEY, int(cfg["SMS_OUTBOX_SIZE"]), int(cfg["SMS_OUTBOX_TTL"]), mask,
                      "SMS", log)
    raise DeliveryError(f"unknown SMS_SENDER {kind!r}")


# --- Codes (the shared logic lives in mfa/codes.py) ----------------------------------------

CODES = CodeBook(namespace="sms", target="phone", ttl_key="SMS_CODE_TTL",
                 attempts_key="SMS_CODE_MAX_ATTEMPTS", interval_key="SMS_PHONE_INTERVAL",
                 per_hour_key="SMS_PHONE_PER_HOUR", ip_per_hour_key="SMS_IP_PER_HOUR")


def send_code(phone: str, purpose: str, locale=None) -> None:
    """Send a fresh code for ``purpose`` to ``phone`` (E.164), replacing any earlier one.

    Raises ``mfa.codes.RateLimited`` or ``DeliveryError``; on either no code is left behind."""
    def deliver(params):
        text = TEMPLATES["verification_code"][language(locale)].format(**params)
        sender().send(SmsMessage(to=phone, text=text, template="verification_code",
                                 params=params))

    CODES.send(phone, purpose, deliver)


class SmsCode(MessageCode):
    """The second-factor plugin for codes sent to the account's verified number: the weakest
    second factor (SIM swap, interception), offered only without a stronger one."""

    kind = "sms"
    codes = CODES

    def amr(self, factor=None):
        return ["sms"]

    def address(self, user):
        return user.phone if user.phone_verified else None

    def send(self, address, purpose):
        send_code(address, purpose)

    def undelivered(self):
        return _("We could not send the text message just now. Try again in a few minutes.")
