"""The admin API's OpenAPI document stays true: every route under /admin/api is documented
with the same methods and nothing else is, and generated requests (schemathesis, positive and
negative, with a super administrator's token) never meet a server error and get only
documented status codes, content types and bodies."""

import re

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from idp.admin.openapi import document
from tests.integration.test_admin_api import client_token

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: Examples per operation and generation mode: enough to find what breaks, few enough that
#: the whole run stays well under a minute.
MAX_EXAMPLES = 15


def documented(doc):
    return {path: {m.upper() for m in item if m in HTTP_METHODS}
            for path, item in doc["paths"].items()}


def routes(app):
    found = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin/api"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found.setdefault(path, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return found


def test_every_route_is_documented_and_nothing_else(app):
    r = app.test_client().get("/admin/api/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"].startswith("3.")
    assert routes(app) == documented(doc)


def test_every_operation_names_its_permission_and_the_permission_exists(app):
    from idp.admin.roles import PERMISSIONS

    doc = app.test_client().get("/admin/api/openapi.json").get_json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in HTTP_METHODS or path.endswith(("/openapi.json", "/me")):
                continue
            assert op["x-permission"] in PERMISSIONS, (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)


@pytest.fixture
def admin_headers(app):
    """A super administrator's token (a client's own, with every permission)."""
    _cid, token = client_token(app, "super_admin")
    return {"Authorization": f"Bearer {token}"}


#: The document as the app serves it (``test_the_served_document_is_this_one``).
schema = schemathesis.openapi.from_dict(document())
schema.config.generation.update(max_examples=MAX_EXAMPLES, database="none")
CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance,
          openapi_checks.response_schema_conformance]


def test_the_served_document_is_this_one(app):
    assert app.test_client().get("/admin/api/openapi.json").get_json() == document()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests(case, app, admin_headers):
    case.call_and_validate(app=app, headers=admin_headers, checks=CHECKS)
