"""The console's pages for regional identity providers (``/admin/upstreams``), joining the
admin console's blueprint and its rules (``idp.admin.console``): staff with two factors and a
role that allows ``upstreams.read`` / ``upstreams.write``, every act answered with a redirect,
removal asked first. The client secret is written once and never shown."""

from flask import request
from flask import url_for
from flask_babel import gettext as _

from idp.admin.console import _asked_first
from idp.admin.console import _first_sending
from idp.admin.console import _sending_failed
from idp.admin.console import bp
from idp.admin.console import done
from idp.admin.console import page
from idp.admin.console import staff_only
from idp.errors import UserFacingError
from idp.extensions import db
from idp.federation import service


def _upstream(slug):
    try:
        return service.get(slug)
    except service.UpstreamNotFound:
        raise UserFacingError("not_found", _("There is no such regional identity provider."),
                              404) from None


def _pairs(name, convert=str):
    """``a=b`` lines of a textarea as a dict; (dict, error message or None)."""
    found = {}
    for line in request.form.get(name, "").splitlines():
        if not line.strip():
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not key or not value:
            return found, _("Write one NAME=VALUE a line: %(line)s", line=line.strip()[:100])
        try:
            found[key] = convert(value)
        except ValueError:
            return found, _("The level must be a whole number: %(line)s",
                            line=line.strip()[:100])
    return found, None


def _form(new):
    """(values, {field: message}) from the form."""
    form, errors = request.form, {}
    data = {name: form.get(name, "").strip() for name in ("name", "issuer", "client_id",
                                                          "scope", "auth_method")}
    if new:
        data["slug"] = form.get("slug", "").strip()
    secret = form.get("client_secret", "")
    if secret or new:
        data["client_secret"] = secret
    data["max_level"] = form.get("max_level", type=int)
    data["enabled"] = form.get("enabled") == "yes"
    for name, convert in (("claim_map", str), ("acr_map", int)):
        data[name], problem = _pairs(name, convert)
        if problem:
            errors[name] = problem
    return data, errors


def _lines(mapping):
    return "\n".join(f"{k}={v}" for k, v in (mapping or {}).items())


def _list_page(staff, form=None, errors=None, error=None, status=200):
    return page("admin/upstreams.html", staff, status=status, upstreams=service.list_all(),
                view=service.view, form=form or {"scope": service.DEFAULT_SCOPE,
                                                 "max_level": 2, "enabled": True},
                errors=errors or {}, error=error, auth_methods=service.AUTH_METHODS,
                lines=_lines)


@bp.route("/upstreams")
@staff_only("upstreams.read")
def upstreams(staff):
    return _list_page(staff)


@bp.route("/upstreams", methods=["POST"])
@staff_only("upstreams.write")
def upstream_add(staff):
    data, errors = _form(new=True)
    if errors:
        return _list_page(staff, data, errors, status=400, error=_(
            "The provider was not added: %(reason)s", reason=_("correct the marked field.")))
    refused = _first_sending()
    if refused:
        return done(refused, ".upstreams")
    try:
        upstream = service.add(data, actor=staff.actor, role=staff.role)
    except service.UpstreamError as exc:
        _sending_failed()
        return _list_page(staff, data, {exc.field: exc.description}, status=400, error=_(
            "The provider was not added: %(reason)s", reason=_("correct the marked field.")))
    return done(_("The provider was added. Register %(url)s with it as a redirect URI and as "
                  "a redirect URI after logout.", url=upstream.callback_url),
                ".upstream", slug=upstream.slug)


def _detail_page(staff, row, form=None, errors=None, error=None, status=200):
    return page("admin/upstream.html", staff, status=status, upstream=row,
                data=service.view(row), form=form or service.view(row), errors=errors or {},
                error=error, auth_methods=service.AUTH_METHODS, lines=_lines)


@bp.route("/upstreams/<slug>")
@staff_only("upstreams.read")
def upstream(staff, slug):
    return _detail_page(staff, _upstream(slug))


@bp.route("/upstreams/<slug>", methods=["POST"])
@staff_only("upstreams.write")
def upstream_save(staff, slug):
    _upstream(slug)
    data, errors = _form(new=False)
    if not errors:
        try:
            service.update(slug, data, actor=staff.actor, role=staff.role)
        except service.UpstreamError as exc:
            db.session.rollback()
            errors = {exc.field: exc.description}
    if errors:
        return _detail_page(staff, _upstream(slug), data, errors, status=400, error=_(
            "Nothing was changed: %(reason)s", reason=_("correct the marked field.")))
    return done(_("The provider was saved."), ".upstream", slug=slug)


@bp.route("/upstreams/<slug>/enabled", methods=["POST"])
@staff_only("upstreams.write")
def upstream_enabled(staff, slug):
    _upstream(slug)
    enabled = request.form.get("enabled") == "yes"
    service.set_enabled(slug, enabled, actor=staff.actor, role=staff.role)
    return done(_("The provider is offered on the login page.") if enabled else _(
        "The provider is no longer offered, and logins through it stop."), ".upstream",
        slug=slug)


@bp.route("/upstreams/<slug>/remove", methods=["GET", "POST"])
@staff_only("upstreams.write")
def upstream_remove(staff, slug):
    row = _upstream(slug)
    asking = _asked_first(
        staff, ".upstream_remove", {"slug": slug},
        title=_("Remove %(name)s?", name=row.name),
        question=_("Logins through it stop and every account's link to it is deleted (the "
                   "accounts stay). This cannot be undone."),
        button=_("Remove"), back=url_for(".upstream", slug=slug))
    if asking:
        return asking
    links = service.remove(slug, actor=staff.actor, role=staff.role)
    return done(_("The provider was removed, with %(count)s links.", count=links),
                ".upstreams")
