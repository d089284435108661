"""What the console shows people instead of codes: actors and targets by name (``张三
(+86138****8000)``, a client's name, "command line (root)"), the values before and after an
administrative act side by side, and times typed in the administrator's time zone."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from flask import current_app
from flask import url_for
from flask_babel import gettext as _

from mfa.sms import mask

#: Labels of administrative events (the citizens' own are ``self_service.EVENT_LABELS``).
ACTION_LABELS = {
    "admin.denied": lambda: _("Refused: no role allows it"),
    "audit.exported": lambda: _("Audit log exported"),
    "client.registered": lambda: _("Client registered"),
    "client.updated": lambda: _("Client changed"),
    "client.approved": lambda: _("Client approved"),
    "client.suspended": lambda: _("Client suspended"),
    "client.activated": lambda: _("Client activated again"),
    "client.sent_to_review": lambda: _("Client sent back to review"),
    "client.secret_rotated": lambda: _("Client secret rotated"),
    "client.deleted": lambda: _("Client deleted"),
    "client.iat_issued": lambda: _("Initial access token issued"),
    "client.iat_revoked": lambda: _("Initial access token revoked"),
    "client.role.granted": lambda: _("Admin API role given to a client"),
    "client.role.revoked": lambda: _("Admin API role taken from a client"),
    "staff.role.granted": lambda: _("Staff role given"),
    "staff.role.revoked": lambda: _("Staff role taken away"),
    "keys.rotated": lambda: _("Signing keys rotated"),
    "upstream.added": lambda: _("Regional identity provider added"),
    "upstream.updated": lambda: _("Regional identity provider changed"),
    "upstream.removed": lambda: _("Regional identity provider removed"),
    "mfa.recovery_codes.generated": lambda: _("New recovery codes made"),
}


def _name_of_user(user):
    phone = mask(user.phone)
    return f"{user.name} ({phone})" if user.name else phone


def describe(code, found):
    """(text, link or None) for an actor or target ``code``; ``found`` is ``service.who``'s
    answer for the page's codes."""
    entry = found.get(code) or {"kind": None, "id": code}
    kind, ident = entry["kind"], entry["id"]
    if kind == "user":
        user = entry.get("user")
        text = _name_of_user(user) if user else _("account %(id)s (deleted)", id=ident)
        return text, url_for("admin.user", user_id=ident) if user else None
    if kind == "client":
        client = entry.get("client")
        if client is None:
            return _("client %(id)s (deleted)", id=ident), None
        return client.name, url_for("admin.client", client_id=ident)
    if kind == "iat":
        iat = entry.get("iat")
        text = _("initial access token #%(id)s", id=ident)
        return (f"{text} ({iat.label})" if iat else text), url_for("admin.iats")
    if kind == "cli":
        return _("command line (%(user)s)", user=ident), None
    if kind == "upstream":
        return (_("regional identity provider %(slug)s", slug=ident),
                url_for("admin.upstream", slug=ident))
    if code == "keys":
        return _("the signing keys"), url_for("admin.keys")
    if code == "anonymous":
        return _("someone not logged in"), None
    if code == "system":
        return _("the provider itself"), None
    return code, None


# --- Before and after ---------------------------------------------------------------------

def _value(field, value):
    """A value as {"text": …} or, for a time, {"epoch": …}."""
    if value is None or value == [] or value == {}:
        return {"text": "—"}
    if isinstance(value, bool):
        return {"text": _("Yes") if value else _("No")}
    if (isinstance(value, int) and value > 10**9
            and (field.endswith(("_at", "_until")) or field in ("expires", "until"))):
        return {"epoch": value}
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return {"text": "\n".join(str(v) for v in value)}
    if isinstance(value, dict | list):
        return {"text": json.dumps(value, ensure_ascii=False, indent=1)}
    return {"text": str(value)}


def changes(detail):
    """An event's ``detail`` as rows to read: ``{"field", "before", "after", "changed"}`` for
    a change (``{"before": …, "after": …}``), then ``{"field", "value"}`` for anything else
    it holds."""
    detail = detail if isinstance(detail, dict) else {"detail": detail}
    before, after = detail.get("before"), detail.get("after")
    rows = []
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before or {}, after or {}
        for field in dict.fromkeys([*before, *after]):
            rows.append({"field": field, "before": _value(field, before.get(field)),
                         "after": _value(field, after.get(field)),
                         "changed": before.get(field) != after.get(field)})
        detail = {k: v for k, v in detail.items() if k not in ("before", "after")}
    rows += [{"field": field, "value": _value(field, value)} for field, value in detail.items()]
    return rows


def summary(rows, most=4):
    """"client_name, scope" for the fields that changed (the line a collapsed event shows),
    at most ``most`` of them named."""
    changed = [r["field"] for r in rows if r.get("changed")]
    more = len(changed) - most
    return ", ".join(changed[:most]) + (f" … (+{more})" if more > 0 else "")


# --- Times in the administrator's zone ---------------------------------------------------

def zone(name):
    """The time zone ``name`` (IANA, as browsers report it) or the provider's default."""
    default = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC"
    try:
        return ZoneInfo(name) if name and len(name) <= 64 else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def in_zone(value, tz):
    """A date or time typed without a zone (``2026-11-30``, ``2026-11-30T08:00`` from a
    datetime-local field) as ISO 8601 with the offset it has in ``tz``; anything else (a Unix
    time, a time with its own offset, a mistake for the audit filter to report) unchanged."""
    if value.lstrip("-").isdigit():
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        return value
    return moment.replace(tzinfo=tz).isoformat()
