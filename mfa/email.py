"""One-time codes by email: senders behind one interface, codes, their rate limits, and the
``EmailCode`` second factor.

Senders (config ``EMAIL_SENDER``):

* ``outbox`` (development and testing): keeps the last messages in the shared store, where
  ``/dev/email-outbox`` and ``idp email outbox`` show them. Refused in production.
* ``smtp``: the standard library's ``smtplib`` to the operator's relay
  (``EMAIL_SMTP_HOST``/``EMAIL_SMTP_PORT``), over STARTTLS (``EMAIL_SMTP_SECURITY=starttls``,
  the default; a server that does not offer it is an error, never a silent downgrade) or
  implicit TLS (``ssl``), certificates verified; ``none`` only to a relay on the loopback
  interface. One attempt within ``EMAIL_SMTP_TIMEOUT``: a failed send raises
  ``mfa.codes.DeliveryError`` and the person asks again (within the rate limits).

Codes (``mfa.codes.CodeBook``, the same as text-message codes): 6 random digits, kept only as
an HMAC bound to purpose and address, ``EMAIL_CODE_TTL`` (10 minutes: mail is slower than a
text message), single use, ``EMAIL_CODE_MAX_ATTEMPTS`` wrong tries; limits per address and per
client address.

Errors are typed; the only texts shown to people are the plugin's (``SecondFactor.undelivered``).
"""

import logging
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from dataclasses import field
from email.message import EmailMessage
from email.utils import formatdate
from email.utils import make_msgid
from email.utils import parseaddr
from typing import Protocol

from flask import current_app
from flask_babel import gettext as _

from mfa.codes import CodeBook
from mfa.codes import DeliveryError
from mfa.codes import MessageCode
from mfa.codes import Outbox
from mfa.codes import language

log = logging.getLogger(__name__)

OUTBOX_KEY = "email:outbox"
MAX_LENGTH = 254  # RFC 5321 section 4.5.3.1.3 (a path of 256 octets less the brackets)
MAX_LOCAL = 64  # RFC 5321 section 4.5.3.1.1
#: Printable ASCII without the characters that need quoting in an address (RFC 5322 atext and
#: dots): no whitespace or line breaks can reach a mail header.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

#: Subject and body per language. Fixed texts, like the SMS templates, not gettext messages.
TEMPLATES = {
    "verification_code": {
        "zh": ("【统一身份认证】邮箱验证码",
               "您的验证码是 {code}，{minutes} 分钟内有效。请勿告诉他人。\n\n"
               "如果您没有索取验证码，请忽略本邮件：可能有人输错了邮箱地址。\n\n"
               "统一身份认证平台（本邮件由系统自动发送，请勿回复）\n"),
        "en": ("[Unified Identity Authentication] Your email verification code",
               "Your verification code is {code}. It is valid for {minutes} minutes. Do not "
               "share it with anyone.\n\n"
               "If you did not ask for a code, ignore this email: someone may have mistyped "
               "their address.\n\n"
               "Unified Identity Authentication (an automatic message: please do not reply)\n"),
    },
}


@dataclass
class OutgoingEmail:
    to: str
    subject: str
    text: str
    template: str
    params: dict = field(default_factory=dict)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)


class EmailSender(Protocol):
    def send(self, message: OutgoingEmail) -> None:
        """Hand the message over for delivery, or raise ``DeliveryError``."""


def normalise(raw) -> str | None:
    """The lower-cased address, or None when it is not one we accept: one ``@``, a local part
    of at most 64 and a whole of at most 254 characters, a domain of at least two dot-separated
    labels, printable ASCII only (no quoting, no comments, no internationalised addresses)."""
    address = (raw or "").strip().lower()
    if not address or len(address) > MAX_LENGTH or address.count("@") != 1:
        return None
    local, domain = address.split("@")
    if not local or len(local) > MAX_LOCAL or not _LOCAL_RE.fullmatch(local):
        return None
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.fullmatch(label) for label in labels):
        return None
    return address


def mask(address: str) -> str:
    """``zhangsan@example.cn`` -> ``z***n@example.cn``: enough to recognise one's own."""
    local, _at, domain = (address or "").partition("@")
    if not domain:
        return "***"
    shown = local[0] + "***" + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def outbox():
    """The development outbox, newest first."""
    return Outbox(OUTBOX_KEY).messages()


class SmtpEmailSender:
    """One SMTP session per message. ``security`` is "starttls" (required, never skipped when
    the server does not offer it), "ssl" (implicit TLS) or "none" (a relay on the loopback
    interface only; ``config.check`` refuses it elsewhere). Server certificates are verified
    against the system's trust store."""

    def __init__(self, host, port, from_address, security="starttls", username=None,
                 password=None, timeout=10.0):
        if security not in ("starttls", "ssl", "none"):
            raise ValueError("EMAIL_SMTP_SECURITY must be starttls, ssl or none")
        self.host = host
        self.port = int(port)
        self.from_address = from_address
        self.security = security
        self.username = username or None
        self.password = password or None
        self.timeout = float(timeout)

    def mime_of(self, message):
        mime = EmailMessage()
        mime["From"] = self.from_address
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.from_address)[1].rpartition("@")[2] or None
        mime["Message-ID"] = make_msgid(idstring=message.request_id, domain=domain)
        mime["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        mime.set_content(message.text, charset="utf-8")
        return mime

    def _connect(self):
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.security == "starttls":
            try:
                conn.starttls(context=ssl.create_default_context())  # raises when not offered
            except BaseException:
                conn.close()
                raise
        return conn

    def send(self, message):
        mime = self.mime_of(message)
        conn = None
        try:
            conn = self._connect()
            if self.username:
                conn.login(self.username, self.password or "")
            refused = conn.send_message(mime)
        except TimeoutError as exc:
            log.warning("mail relay timed out for %s (request %s)", mask(message.to),
                        message.request_id)
            raise DeliveryError("the mail relay did not answer in time") from exc
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mail relay refused or unreachable for %s (request %s): %s",
                        mask(message.to), message.request_id, type(exc).__name__)
            raise DeliveryError(f"the mail relay failed ({type(exc).__name__})") from exc
        finally:
            if conn is not None:
                try:
                    conn.quit()
                except (OSError, smtplib.SMTPException):
                    conn.close()
        if refused:
            raise DeliveryError("the mail relay refused the recipient")
        log.info("email to %s handed to the relay (request %s)", mask(message.to),
                 message.request_id)


def sender() -> EmailSender:
    """The sender configured by ``EMAIL_SENDER``."""
    cfg = current_app.config
    kind = cfg["EMAIL_SENDER"]
    if kind == "smtp":
        return SmtpEmailSender(cfg["EMAIL_SMTP_HOST"], cfg["EMAIL_SMTP_PORT"], cfg["EMAIL_FROM"],
                               cfg["EMAIL_SMTP_SECURITY"], cfg["EMAIL_SMTP_USERNAME"],
                               cfg["EMAIL_SMTP_PASSWORD"], cfg["EMAIL_SMTP_TIMEOUT"])
    if kind == "outbox":
        return Outbox(OUTBOX_KEY, int(cfg["EMAIL_OUTBOX_SIZE"]), int(cfg["EMAIL_OUTBOX_TTL"]),
                      mask, "email", log)
    raise DeliveryError(f"unknown EMAIL_SENDER {kind!r}")


# --- Codes ---------------------------------------------------------------------------------

CODES = CodeBook(namespace="email", target="address", ttl_key="EMAIL_CODE_TTL",
                 attempts_key="EMAIL_CODE_MAX_ATTEMPTS", interval_key="EMAIL_ADDRESS_INTERVAL",
                 per_hour_key="EMAIL_ADDRESS_PER_HOUR", ip_per_hour_key="EMAIL_IP_PER_HOUR")


def send_code(email: str, purpose: str, locale=None) -> None:
    """Send a fresh code for ``purpose`` to ``email`` (normalised), replacing any earlier one.

    Raises ``mfa.codes.RateLimited`` or ``DeliveryError``; on either no code is left behind."""
    def deliver(params):
        subject, body = TEMPLATES["verification_code"][language(locale)]
        sender().send(OutgoingEmail(to=email, subject=subject, text=body.format(**params),
                                    template="verification_code", params=params))

    CODES.send(email, purpose, deliver)


class EmailCode(MessageCode):
    """The second-factor plugin (``mfa.base.SecondFactor``) for codes sent to the account's
    confirmed email address.

    Like a text message it proves access to something the citizen controls but that others
    may reach too (a shared or compromised mailbox), so it is offered only to citizens who have
    no authenticator app or passkey, as a fallback that lets them meet a platform's MFA policy.

    ``amr`` is ``["email"]``. RFC 8176 registers no value for an emailed code; ``otp`` is
    defined there for HOTP/TOTP (RFC 4226/6238) generators, and a platform reading ``otp`` as
    "authenticator app" would overrate a code that travelled through a mailbox. RFC 8176
    section 1 leaves other values to agreement between the parties (relying parties ignore
    values they do not know), and ``email`` is the value several providers already use, in the
    same style as the registered ``sms``. The README lists it among our ``amr`` values."""

    kind = "email"
    codes = CODES

    def amr(self, factor=None):
        return ["email"]

    def address(self, user):
        return user.email if user.email_verified else None

    def send(self, address, purpose):
        send_code(address, purpose)

    def undelivered(self):
        return _("We could not send the email just now. Try again in a few minutes.")
