"""How enterprise roles, states and audit events read on the pages (the citizen's own, the
enterprise's, the console's)."""

from flask import current_app
from flask_babel import gettext as _

ROLE_LABELS = {
    "legal_representative": lambda: _("Legal representative"),
    "administrator": lambda: _("Administrator"),
    "handler": lambda: _("Handler"),
    "agent": lambda: _("Agent (through an agent firm)"),
    "operator": lambda: _("Operator"),
}
STATUS_LABELS = {
    "operating": lambda: _("Operating"),
    "cancelled": lambda: _("Cancelled (deregistered)"),
    "revoked": lambda: _("Revoked (licence revoked)"),
    "invited": lambda: _("Invited, not yet accepted"),
    "active": lambda: _("In force"),
    "declined": lambda: _("Declined"),
    "ended": lambda: _("Ended"),
}


def role_label(role):
    """A role at an enterprise, or the staff role a change was made in."""
    label = ROLE_LABELS.get(role)
    return label() if label else current_app.jinja_env.globals["role_label"](role)


def status_label(status):
    label = STATUS_LABELS.get(status)
    return label() if label else status

EVENT_LABELS = {
    "enterprise.created": lambda: _("Enterprise registered by an operator"),
    "enterprise.verified": lambda: _("Enterprise checked with the legal-person registry"),
    "enterprise.status": lambda: _("Enterprise status changed"),
    "enterprise.appointed": lambda: _("Appointed for an enterprise"),
    "enterprise.appointment.accepted": lambda: _("Enterprise appointment accepted"),
    "enterprise.appointment.declined": lambda: _("Enterprise appointment declined"),
    "enterprise.appointment.ended": lambda: _("Enterprise appointment ended"),
    "enterprise.authorised": lambda: _("Agent firm authorised"),
    "enterprise.authorisation.ended": lambda: _("Agent firm's authorisation ended"),
    "enterprise.acted": lambda: _("Logged in acting for an enterprise"),
}
