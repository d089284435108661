"""Every route, every number it reads and every header we decode, sent hostile values by an
anonymous browser, a signed-in citizen and a super administrator (console and API): the answer
is a 4xx (or a plain page), never a 500. Ids beyond the database's integer, negative or not
numbers name nothing; Basic credentials that are not UTF-8 are ``invalid_client``."""

import base64
import re
from urllib.parse import quote

import pytest

from tests import factories as f
from tests.integration.test_admin_api import make_staff
from tests.integration.test_admin_api import user_token
from tests.integration.test_admin_console import console

#: Beyond SQLite's 64 bits and PostgreSQL's 32, negative, zero, not a number, a
#: percent-encoded byte that is not UTF-8.
BAD = ["99999999999999999999999", "2147483648", "-1", "0", "abc", "%ff"]
#: Every form and query field the views read (numbers and the rest): all get the bad value.
FIELDS = (
    "factor_id", "token_id", "user_id", "after_id", "page", "per_page", "days", "min_loa",
    "max_uses", "expires_days", "expires_in", "limit", "id", "code", "confirm", "phone", "name",
    "reason", "password", "status", "q", "lang", "username", "transfer", "scope", "scopes",
    "outcome", "next", "new", "label", "email", "decision", "current", "choice", "checked",
    "action", "state", "face_session", "number", "doc_type", "nationality", "client_name",
    "redirect_uris", "token_endpoint_auth_method", "subject_type", "grant_types", "agree",
    "access_token_ttl", "refresh_token_ttl", "role",
    "act_as", "credit_code", "matters", "starts", "until", "agent", "answer", "from",
    "authorization_details",
)
#: Ends the browser's session: visited last, so the rest is sent signed in.
LAST = ("/account/logout", "/admin/login-again", "/logout")
JSON_PATHS = ("/admin/api", "/connect/register")


def _routes(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    rules.sort(key=lambda r: (r.rule in LAST, r.rule))
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _path(rule, value):
    """The rule's path with every variable part set to ``value`` (``any(…)`` parts keep
    their first choice: nothing else routes)."""
    def part(match):
        converter = match.group(1) or ""
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip(" )'\"")
        return value if value.startswith("%") else quote(value, safe="")
    return re.sub(r"<(?:([^:>]+):)?[^>]+>", part, rule.rule)


def _csrf(page):
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:300]
    return found.group(1)


def _sweep(app, flow, csrf, bearer=None):
    failures = []
    for rule, method in _routes(app):
        for value in BAD:
            path = _path(rule, value)
            fields = dict.fromkeys(FIELDS, value)
            kw = {"method": method, "base_url": flow.base_url,
                  "headers": {"Referer": flow.base_url + "/"}}
            if bearer and rule.rule.startswith("/admin/api"):
                kw["headers"]["Authorization"] = f"Bearer {bearer}"
            if method == "GET":
                kw["query_string"] = fields
            elif rule.rule.startswith(JSON_PATHS):
                number = -1 if value == "-1" else 10**30
                kw["json"] = {**dict.fromkeys(FIELDS, number), "client_name": value,
                              "redirect_uris": [value]}
            else:
                kw["data"] = {**fields, "csrf_token": csrf}
            try:
                r = flow.http.open(path, **kw)
                if r.status_code >= 500:
                    failures.append(f"{method} {path}: {r.status_code}")
            except Exception as exc:  # noqa: BLE001 (each is reported below)
                failures.append(f"{method} {path}: {type(exc).__name__}: {exc}"[:300])
    return failures


@pytest.mark.parametrize("factor_id", ["2147483648", "99999999999999999999999"])
def test_factor_ids_beyond_the_database_integer_name_nothing(app, factor_id):
    """The review's 500s: OverflowError (SQLite) or DataError (PostgreSQL) from an id the
    database cannot hold. A path id is no route (404); a form id an enrolment that is not
    there, as for any other unknown id."""
    with app.app_context():
        f.user()
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.get("/account")))
    csrf = _csrf(page)
    for action in ("rename", "delete"):
        r = flow.post(f"/account/factors/{factor_id}/{action}",
                      data={"csrf_token": csrf, "name": "x", "confirm": "yes"})
        assert r.status_code == 404, (action, r.status_code)
    r = flow.post("/account/totp", data={"csrf_token": csrf, "factor_id": factor_id,
                                         "code": "123456"})
    assert r.status_code == 303 and r.headers["Location"].endswith("/account")
    assert "本次设置已过期" in flow.follow(r).get_data(as_text=True)


def test_anonymous_hostile_ids_and_fields_get_no_500(app):
    with app.app_context():
        f.user()
    flow = f.Flow(app.test_client())
    csrf = _csrf(flow.get("/register"))
    failures = _sweep(app, flow, csrf)
    assert failures == [], "\n".join(failures)


def test_a_citizens_hostile_ids_and_fields_get_no_500(app):
    with app.app_context():
        f.user()
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.get("/account")))
    assert page.status_code == 200
    failures = _sweep(app, flow, _csrf(page))
    assert failures == [], "\n".join(failures)


def test_a_super_administrators_hostile_ids_and_fields_get_no_500(app):
    _uid, codes = make_staff(app, "13900139000", "super_admin")
    token = user_token(app, "13900139000", codes)
    flow, _home = console(app, "13900139000", codes)
    csrf = _csrf(flow.get("/admin/clients/new"))
    failures = _sweep(app, flow, csrf, bearer=token)
    assert failures == [], "\n".join(failures)


# --- headers we decode ------------------------------------------------------------------------

NOT_UTF8 = base64.b64encode(b"\xff\xfe:\xc3\x28").decode()
#: Header values as a WSGI server hands them over (latin-1 decoded bytes).
HEADERS = {
    "basic-not-utf8": {"Authorization": "Basic " + NOT_UTF8},
    "basic-not-utf8-user": {"Authorization": "Basic " + base64.b64encode(
        b"\xff\xfe:secret").decode()},
    "basic-raw-bytes": {"Authorization": "Basic \xff\xfe\xfd"},
    "basic-empty": {"Authorization": "Basic "},
    "bearer-raw-bytes": {"Authorization": "Bearer \xff\xfe.\xfd"},
    "bearer-nul": {"Authorization": "Bearer a\x00b"},
    "dpop": {"DPoP": "\xff\xfe", "Authorization": "DPoP \xff"},
    "cookies": {"Cookie": "idp_sso=\xff\xfe\xfd; session=\xff.\xfe; idp_lang=\xff\xfe"},
    "cookie-junk": {"Cookie": "idp_sso=%ff%fe; idp_lang=zh_\xff; ;;=;\x7f=\x7f"},
    "accept-language": {"Accept-Language": "\xff\xfe;q=abc, *;q=-1, zh-CN;q=1e400, en;q=nan"},
    "user-agent": {"User-Agent": "\xff\xfe\x00" + "x" * 5000},
    "forwarded": {"X-Forwarded-For": "not-an-address, " + "9" * 200,
                  "X-Forwarded-Proto": "javascript\xff", "X-Forwarded-Host": "\xff\xfe:99999",
                  "X-Forwarded-Port": "-1", "X-Forwarded-Prefix": "/\xff"},
}
#: One route of each kind that reads these headers.
HEADER_ROUTES = [
    ("POST", "/token", {"data": {"grant_type": "client_credentials"}}),
    ("POST", "/introspect", {"data": {"token": "x"}}),
    ("POST", "/revoke", {"data": {"token": "x"}}),
    ("GET", "/userinfo", {}),
    ("POST", "/connect/register", {"json": {}}),
    ("GET", "/connect/register/abc", {}),
    ("GET", "/admin/api/me", {}),
    ("GET", "/.well-known/openid-configuration", {}),
    ("GET", "/account", {}),
    ("GET", "/admin", {}),
    ("GET", "/register", {}),
    ("GET", "/logout", {}),
]


@pytest.fixture
def citizen_rp(app):
    with app.app_context():
        f.user()
        return f.rp()


@pytest.mark.config(TRUSTED_PROXY_HOPS=1)
@pytest.mark.parametrize("headers", HEADERS.values(), ids=HEADERS.keys())
def test_hostile_headers_get_no_500(app, citizen_rp, headers):
    failures = []
    http = app.test_client()
    params = f.authorize_params(citizen_rp[0], f.pkce()[1])
    routes = [*HEADER_ROUTES, ("GET", "/authorize", {"query_string": params})]
    for method, path, kw in routes:
        try:
            r = http.open(path, method=method, headers=headers, **kw)
            if r.status_code >= 500:
                failures.append(f"{method} {path}: {r.status_code}")
        except Exception as exc:  # noqa: BLE001 (each is reported below)
            failures.append(f"{method} {path}: {type(exc).__name__}: {exc}"[:300])
    # and through a whole login, which stores the address and browser in the audit log
    flow = f.Flow(app.test_client())
    action, fields = f.form_of(flow.follow(flow.start(params)).get_data(as_text=True))
    try:
        r = flow.post(action, headers=headers, data={**fields, "username": "13800138000",
                                                      "password": "wrong-password"})
        if r.status_code >= 500:
            failures.append(f"login: {r.status_code}")
    except Exception as exc:  # noqa: BLE001
        failures.append(f"login: {type(exc).__name__}: {exc}"[:300])
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("credentials", [b"\xff\xfe:\xc3\x28", b"client:\xff", b"\xff:secret"])
@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_basic_credentials_that_are_not_utf8_are_invalid_client(client, path, credentials):
    """RFC 6749 2.3.1: client_id and secret are form-encoded UTF-8; other bytes name no client
    (RFC 6749 5.2: invalid_client, 401, with the Basic challenge)."""
    r = client.post(path, data={"grant_type": "client_credentials", "token": "x"}, headers={
        "Authorization": "Basic " + base64.b64encode(credentials).decode()})
    assert r.status_code == 401, r.get_data(as_text=True)
    assert r.get_json()["error"] == "invalid_client"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
