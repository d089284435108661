"""The admin API's operations on regional identity providers (``/admin/api/upstreams``),
joining its blueprint and rules (``idp.admin.api``): a bearer token with the ``admin`` scope
whose roles allow ``upstreams.read`` / ``upstreams.write``; JSON in and out; the client secret
is written, never read back."""

from flask import jsonify
from flask import url_for

from idp.admin.api import _body
from idp.admin.api import bp
from idp.admin.api import requires
from idp.federation import service


@bp.errorhandler(service.UpstreamError)
def _invalid(exc):
    return jsonify(error="invalid_request", error_description=exc.description), 400


@bp.errorhandler(service.UpstreamNotFound)
def _not_found(exc):
    return jsonify(error="not_found", error_description=str(exc)), 404


@bp.get("/upstreams")
@requires("upstreams.read")
def upstreams_list(acting):
    return {"items": [service.view(u) for u in service.list_all()]}


@bp.post("/upstreams")
@requires("upstreams.write")
def upstreams_add(acting):
    upstream = service.add(_body(), actor=acting.actor, role=acting.role)
    return jsonify(service.view(upstream)), 201, {
        "Location": url_for(".upstream_get", slug=upstream.slug)}


@bp.get("/upstreams/<slug>")
@requires("upstreams.read")
def upstream_get(acting, slug):
    return service.view(service.get(slug))


@bp.patch("/upstreams/<slug>")
@requires("upstreams.write")
def upstream_update(acting, slug):
    return service.view(service.update(slug, _body(), actor=acting.actor, role=acting.role))


@bp.delete("/upstreams/<slug>")
@requires("upstreams.write")
def upstream_remove(acting, slug):
    service.remove(slug, actor=acting.actor, role=acting.role)
    return "", 204


@bp.post("/upstreams/<slug>/enable", endpoint="upstream_enable", defaults={"enabled": True})
@bp.post("/upstreams/<slug>/disable", endpoint="upstream_disable", defaults={"enabled": False})
@requires("upstreams.write")
def upstream_enabled(acting, slug, enabled):
    upstream = service.set_enabled(slug, enabled, actor=acting.actor, role=acting.role)
    return service.view(upstream)
