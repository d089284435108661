"""Logout that reaches every platform: OpenID Connect RP-Initiated Logout 1.0 at /logout,
Back-Channel Logout 1.0 from a durable queue, Front-Channel Logout 1.0 frames, and the same
logouts whichever way a session ends (the citizen's /account, a password change, an
administrator's lock)."""

import time

import pytest
from freezegun import freeze_time

from idp.extensions import db
from idp.logout.models import LogoutDelivery
from idp.logout.service import deliver
from idp.logout.service import deliver_due
from tests import factories as f
from tests.integration.test_account import post_form
from tests.integration.test_account import sign_in
from tests.integration.test_sso import tokens_for
from tests.logout_receiver import LogoutReceiver

EVENT = "http://schemas.openid.net/event/backchannel-logout"
BYE = "http://127.0.0.1:9000/bye"
B_REDIRECT = "https://b.gov.example/cb"


@pytest.fixture
def receivers():
    made = []

    def make(status=200):
        made.append(LogoutReceiver(status))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


@pytest.fixture
def platforms(app, receivers):
    """Two platforms with back-channel logout (B signs ID tokens with RS256) and a third
    without; a citizen."""
    a_in, b_in = receivers(), receivers()
    with app.app_context():
        f.user()
        a = f.rp(name="Platform A", post_logout_redirect_uris=[BYE],
                 backchannel_logout_uri=a_in.url)
        b = f.rp(name="Platform B", redirect_uris=(B_REDIRECT,), scope="openid profile",
                 backchannel_logout_uri=b_in.url, backchannel_logout_session_required=True,
                 id_token_alg="RS256")
        c = f.rp(name="Platform C", redirect_uris=("https://c.gov.example/cb",))
    return {"a": (a, a_in), "b": (b, b_in), "c": c}


def sso_into(flow, http, platforms, names=("a", "b")):
    """Log in at each platform in one browser; their ID tokens' claims by name."""
    redirects = {"a": f.REDIRECT_URI, "b": B_REDIRECT, "c": "https://c.gov.example/cb"}
    tokens = {}
    for name in names:
        rp = platforms[name][0] if name != "c" else platforms["c"]
        tokens[name] = tokens_for(flow, http, rp, redirect_uri=redirects[name])["id_token"]
    return tokens


def deliveries(app, **filters):
    with app.app_context():
        return [{c.key: getattr(row, c.key) for c in LogoutDelivery.__table__.columns}
                for row in LogoutDelivery.query.filter_by(**filters).order_by(LogoutDelivery.id)]


def run_worker(app, now=None):
    with app.app_context():
        return deliver_due(now)


def logged_in(http, client_id, redirect_uri=f.REDIRECT_URI):
    """Whether the browser still has an SSO session (prompt=none answers with a code)."""
    r = http.get("/authorize", query_string=f.authorize_params(
        client_id, f.pkce()[1], prompt="none", redirect_uri=redirect_uri))
    return "code" in f.query(r.headers["Location"])


def check_logout_token(app, token, client_id, id_token, alg):
    """A logout token as Back-Channel Logout 1.0 2.4 wants it, for the session and subject of
    ``id_token``; returns its claims."""
    decoded = f.claims_of(app, token)  # signature against the published keys, kid
    assert decoded.header["typ"] == "logout+jwt" and decoded.header["alg"] == alg
    assert decoded.header["kid"]
    claims, id_claims = decoded.claims, f.claims_of(app, id_token).claims
    assert claims["iss"] == app.config["ISSUER"] and claims["aud"] == client_id
    assert claims["events"] == {EVENT: {}}
    assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
    assert claims["exp"] == claims["iat"] + 120 and abs(claims["iat"] - time.time()) < 60
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 32
    assert "nonce" not in claims
    return claims


# --- RP-initiated logout ----------------------------------------------------------------------

def test_rp_initiated_logout_reaches_every_platform_of_the_session(app, platforms, client):
    (a, a_in), (b, b_in) = platforms["a"], platforms["b"]
    flow = f.Flow(client)
    ids = sso_into(flow, client, platforms, ("a", "b", "c"))
    r = client.get("/logout", query_string={"id_token_hint": ids["a"], "state": "s-1",
                                            "post_logout_redirect_uri": BYE}, buffered=True)
    assert r.status_code == 303 and r.headers["Location"] == BYE + "?state=s-1"
    # the attempt right after the response (buffered: the test client closes it at once)
    assert len(a_in.received) == 1 and len(b_in.received) == 1
    for receiver in (a_in, b_in):
        assert receiver.received[0]["content_type"] == "application/x-www-form-urlencoded"
        assert receiver.received[0]["path"] == "/backchannel"
    ca = check_logout_token(app, a_in.tokens()[0], a[0], ids["a"], "ES256")
    cb = check_logout_token(app, b_in.tokens()[0], b[0], ids["b"], "RS256")
    assert ca["sub"] != cb["sub"]  # pairwise: each platform gets its own subject
    assert ca["jti"] != cb["jti"]
    rows = deliveries(app)
    assert [(d["client_id"], d["status"], d["attempts"], d["last_status"], d["reason"])
            for d in rows] == [(a[0], "delivered", 1, 200, "logout"),
                               (b[0], "delivered", 1, 200, "logout")]
    assert not logged_in(client, a[0])
    assert run_worker(app) == {"pending": 0, "delivered": 0, "refused": 0, "failed": 0}


def test_an_expired_id_token_hint_of_ours_still_ties_the_request(app, platforms, client):
    a, a_in = platforms["a"]
    with freeze_time() as frozen:
        ids = sso_into(f.Flow(client), client, platforms, ("a",))
        frozen.tick(app.config["ID_TOKEN_TTL"] + 60)  # expired; the session (30 min idle) lives
        assert f.claims_of(app, ids["a"]).claims["exp"] < time.time()
        r = client.get("/logout", query_string={"id_token_hint": ids["a"],
                                                "post_logout_redirect_uri": BYE})
        assert r.status_code == 303 and r.headers["Location"] == BYE
        assert not logged_in(client, a[0])


@pytest.mark.parametrize("kind", ["forged", "other_issuer", "access_token", "logout_token",
                                  "garbage"])
def test_a_hint_that_is_not_our_id_token_is_refused(app, platforms, client, kind):
    from joserfc import jwt
    from joserfc.jwk import ECKey

    a, a_in = platforms["a"]
    flow = f.Flow(client)
    verifier, challenge = f.pkce()
    tokens = tokens_for(flow, client, a)
    claims = f.claims_of(app, tokens["id_token"]).claims
    key = ECKey.generate_key("P-256", auto_kid=True)
    with app.app_context():
        from idp.oauth.tokens import _sign

        hint = {
            "forged": jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key),
            "other_issuer": _sign(None, {**claims, "iss": "https://other.example"}, "ES256"),
            "access_token": tokens["access_token"],
            "logout_token": _sign("logout+jwt", {**claims, "events": {EVENT: {}}}, "ES256"),
            "garbage": "a.b.c",
        }[kind]
    r = client.get("/logout", query_string={"id_token_hint": hint,
                                            "post_logout_redirect_uri": BYE})
    assert r.status_code == 400 and "Location" not in r.headers
    assert "退出登录请求无效" in r.get_data(as_text=True)
    assert logged_in(client, a[0])


def test_client_id_must_be_the_hints_audience(app, platforms, client):
    ids = sso_into(f.Flow(client), client, platforms, ("a",))
    r = client.get("/logout", query_string={"id_token_hint": ids["a"],
                                            "client_id": platforms["b"][0][0]})
    assert r.status_code == 400 and "Location" not in r.headers


def confirmation(r):
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:300]
    assert '<button type="submit" name="logout" value="yes">' in html
    assert '<button type="submit" name="logout" value="no"' in html
    return f.form_of(html)


def test_a_request_not_tied_to_the_session_asks_first(app, platforms, client):
    a, b = platforms["a"][0], platforms["b"][0]
    flow = f.Flow(client)
    sso_into(flow, client, platforms)
    other = f.Flow(app.test_client())
    hint_of_another_session = sso_into(other, other.http, platforms, ("a",))["a"]
    for query in ({}, {"client_id": a[0], "post_logout_redirect_uri": BYE, "state": "x"},
                  {"id_token_hint": hint_of_another_session}):
        r = client.get("/logout", query_string=query)
        confirmation(r)
        assert logged_in(client, a[0])
    # a platform may POST the request (no CSRF token of ours): it is asked too
    r = client.post("/logout", data={"client_id": a[0], "post_logout_redirect_uri": BYE})
    action, fields = confirmation(r)
    assert fields["post_logout_redirect_uri"] == BYE and fields["client_id"] == a[0]
    assert "Platform A" in r.get_data(as_text=True)
    # the answer needs the form's CSRF token
    r = flow.post(action, data={k: v for k, v in fields.items() if k != "csrf_token"}
                  | {"logout": "yes"})
    assert r.status_code == 400 and logged_in(client, a[0])
    r = flow.post(action, data={**fields, "logout": "yes"})
    assert r.status_code == 303 and r.headers["Location"] == BYE
    assert not logged_in(client, a[0])
    assert {d["client_id"] for d in deliveries(app, status="pending")} == {a[0], b[0]}


def test_no_keeps_the_session_and_returns_only_to_a_verified_address(app, platforms, client):
    a, _ = platforms["a"]
    flow = f.Flow(client)
    sso_into(flow, client, platforms, ("a",))
    action, fields = confirmation(client.get("/logout", query_string={
        "client_id": a[0], "post_logout_redirect_uri": BYE, "state": "st"}))
    r = flow.post(action, data={**fields, "logout": "no"})
    assert r.status_code == 303 and r.headers["Location"] == BYE + "?state=st"
    assert logged_in(client, a[0]) and deliveries(app) == []
    action, fields = confirmation(client.get("/logout"))
    r = flow.post(action, data={**fields, "logout": "no"})
    assert r.status_code == 200 and "Location" not in r.headers
    assert "您仍处于登录状态" in r.get_data(as_text=True)
    r = flow.post(action, data={**fields, "logout": "maybe"})
    assert r.status_code == 400 and logged_in(client, a[0])


def test_ui_locales_chooses_the_language_of_the_pages(app, platforms, client):
    sso_into(f.Flow(client), client, platforms, ("a",))
    r = client.get("/logout", query_string={"ui_locales": "en"})
    action, fields = confirmation(r)
    assert "Do you want to log out of all government services" in r.get_data(as_text=True)
    assert fields["ui_locales"] == "en"
    r = f.Flow(client).post(action, data={**fields, "logout": "yes"})
    assert r.status_code == 200 and "You have logged out" in r.get_data(as_text=True)


def test_without_a_session_the_platform_gets_its_browser_back(app, platforms, client):
    r = client.get("/logout", query_string={"client_id": platforms["a"][0][0], "state": "z",
                                            "post_logout_redirect_uri": BYE})
    assert r.status_code == 303 and r.headers["Location"] == BYE + "?state=z"
    r = client.get("/logout")
    assert r.status_code == 200 and "您已退出登录" in r.get_data(as_text=True)


# --- Never an open redirect ------------------------------------------------------------------

#: Addresses that are not, exactly, one registered for Platform A.
NOT_REGISTERED = [
    "https://evil.example/", "http://127.0.0.1:9000/bye/", "http://127.0.0.1:9000/by",
    "http://127.0.0.1:9000/byebye", "http://127.0.0.1:9000/bye?next=https://evil.example",
    "http://127.0.0.1:9000/bye#https://evil.example", "http://127.0.0.1:9000/bye/../evil",
    "http://127.0.0.1:9000/bye%2F..%2Fevil", "HTTP://127.0.0.1:9000/bye",
    "http://127.0.0.1:9000/BYE", "http://127.0.0.1:9000//bye", "http://127.0.0.1:9001/bye",
    "http://127.0.0.1:9000@evil.example/bye", "http://evil.example@127.0.0.1:9000/bye",
    "http://127.0.0.1.evil.example:9000/bye", "//evil.example/bye", "/bye",
    "http:%2F%2F127.0.0.1:9000%2Fbye", "http%3A%2F%2F127.0.0.1%3A9000%2Fbye",
    " http://127.0.0.1:9000/bye", "http://127.0.0.1:9000/bye ", "http://127.0.0.1:9000/bye\t",
    "http://127.0.0.1:9000/bye%00", "http://127.0.0.1:9000\\@evil.example/bye",
    "javascript:alert(document.domain)//http://127.0.0.1:9000/bye",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "file:///etc/passwd",
    "https://b.gov.example/bye",  # Platform B's own address below
    "http://127.0.0.1:9000/bye?state=x", "http://127.0.0.1:9000/bye;evil",
    "http://[::ffff:127.0.0.1]:9000/bye", "http://2130706433:9000/bye",
]


@pytest.fixture
def sweep(app, platforms):
    with app.app_context():
        from clients.service import update_client

        update_client(platforms["b"][0][0], {"post_logout_redirect_uris": [
            "https://b.gov.example/bye"]}, actor="test")
    return platforms


def refused(r):
    assert r.status_code == 400, (r.status_code, r.headers.get("Location"))
    assert "Location" not in r.headers and "Refresh" not in r.headers
    html = r.get_data(as_text=True)
    assert "退出后返回的地址未在该服务登记" in html or "退出登录请求无效" in html


@pytest.mark.parametrize("target", NOT_REGISTERED)
def test_post_logout_redirect_uri_sweep(app, sweep, client, target):
    a = sweep["a"][0]
    flow = f.Flow(client)
    ids = sso_into(flow, client, sweep, ("a",))
    # with the hint, with client_id, both; by GET and by POST; before any confirmation
    refused(client.get("/logout", query_string={"id_token_hint": ids["a"],
                                                "post_logout_redirect_uri": target}))
    refused(client.get("/logout", query_string={"client_id": a[0],
                                                "post_logout_redirect_uri": target}))
    refused(client.post("/logout", data={"client_id": a[0], "id_token_hint": ids["a"],
                                         "post_logout_redirect_uri": target}))
    # a confirmation form whose hidden field was changed, answered yes or no
    action, fields = confirmation(client.get("/logout", query_string={
        "client_id": a[0], "post_logout_redirect_uri": BYE}))
    for answer in ("yes", "no"):
        refused(flow.post(action, data={**fields, "post_logout_redirect_uri": target,
                                        "logout": answer}))
    assert logged_in(client, a[0])  # nothing was done
    # and without any session
    client.get("/logout", query_string={"id_token_hint": ids["a"]})
    assert not logged_in(client, a[0])
    refused(client.get("/logout", query_string={"client_id": a[0],
                                                "post_logout_redirect_uri": target}))


def test_another_platforms_address_or_no_platform_is_refused(app, sweep, client):
    a, b = sweep["a"][0], sweep["b"][0]
    ids = sso_into(f.Flow(client), client, sweep, ("a",))
    for query in ({"post_logout_redirect_uri": BYE},  # no platform named
                  {"client_id": "unknown", "post_logout_redirect_uri": BYE},
                  {"client_id": b[0], "post_logout_redirect_uri": BYE},
                  {"id_token_hint": ids["a"], "client_id": b[0],
                   "post_logout_redirect_uri": "https://b.gov.example/bye"}):
        refused(client.get("/logout", query_string=query))
    with app.app_context():
        from clients.service import set_status

        set_status(a[0], "suspended", actor="test")
    refused(client.get("/logout", query_string={"id_token_hint": ids["a"],
                                                "post_logout_redirect_uri": BYE}))


# --- Front-channel logout ----------------------------------------------------------------------

def test_front_channel_frames_then_back_to_the_platform(app, platforms, client):
    a = platforms["a"][0]
    with app.app_context():
        from clients.service import update_client

        update_client(a[0], {"frontchannel_logout_uri": "http://127.0.0.1:9000/fc?x=1"},
                      actor="test")
    ids = sso_into(f.Flow(client), client, platforms, ("a", "b"))
    sid = f.claims_of(app, ids["a"]).claims["sid"]
    r = client.get("/logout", query_string={"id_token_hint": ids["a"], "state": "s",
                                            "post_logout_redirect_uri": BYE})
    assert r.status_code == 303 and r.headers["Location"].startswith("/logout/done/")
    done = r.headers["Location"]
    page = client.get(done)
    html = page.get_data(as_text=True)
    frames = [src.replace("&amp;", "&") for src in f.re.findall(r'<iframe src="([^"]+)"', html)]
    assert frames == [f"http://127.0.0.1:9000/fc?x=1&iss=http%3A%2F%2F127.0.0.1%3A5000&sid={sid}"]
    assert f'data-next="{done}"' in html and "/static/logout.js" in html
    policy = page.headers["Content-Security-Policy"]
    assert "frame-src http://127.0.0.1:9000" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["Cache-Control"] == "no-store"
    r = client.get(done)  # after the frames: back to the platform, once
    assert r.status_code == 303 and r.headers["Location"] == BYE + "?state=s"
    again = client.get(done)
    assert again.status_code == 200 and "<iframe" not in again.get_data(as_text=True)
    assert "frame-src" not in again.headers["Content-Security-Policy"]


def test_logging_out_at_account_shows_the_frames_too(app, platforms, client):
    a = platforms["a"][0]
    with app.app_context():
        from clients.service import update_client

        update_client(a[0], {"frontchannel_logout_uri": "http://127.0.0.1:9000/fc"},
                      actor="test")
    flow = f.Flow(client)
    sso_into(flow, client, platforms, ("a",))
    page = flow.follow(flow.get("/account"))
    r = post_form(flow, page, "/account/logout")
    html = r.get_data(as_text=True)
    assert r.request.path.startswith("/logout/done/")
    assert '<iframe src="http://127.0.0.1:9000/fc?iss=' in html and 'data-next=""' in html
    assert "logout.js" not in html  # nowhere to go next: the page stays
    assert {d["reason"] for d in deliveries(app)} == {"logout"}


def test_a_stop_added_by_another_module_comes_after_the_frames(app, platforms, client):
    """The hook for an upstream provider's logout (``idp.logout.browser``): a receiver of
    ``session_ended`` adds a page; the browser visits it after the frames and comes back."""
    from idp.accounts.signals import session_ended
    from idp.logout import browser

    def upstream(sender, browser=False, **kw):
        if browser:
            plan = browser_plan.current()
            plan.add_stop("https://upstream.example/logout?state=" + plan.uid)

    browser_plan = browser
    session_ended.connect(upstream, sender=app)
    try:
        ids = sso_into(f.Flow(client), client, platforms, ("a",))
        r = client.get("/logout", query_string={"id_token_hint": ids["a"],
                                                "post_logout_redirect_uri": BYE})
        done = r.headers["Location"]
        uid = done.rsplit("/", 1)[1]
        r = client.get(done)
        assert r.status_code == 303
        assert r.headers["Location"] == "https://upstream.example/logout?state=" + uid
        r = client.get(done)  # the upstream's callback sent the browser back
        assert r.status_code == 303 and r.headers["Location"] == BYE
    finally:
        session_ended.disconnect(upstream, sender=app)


# --- Durable delivery --------------------------------------------------------------------------

def test_a_platform_down_during_logout_gets_it_when_it_is_back(app, platforms, client):
    (a, a_in), (b, b_in) = platforms["a"], platforms["b"]
    ids = sso_into(f.Flow(client), client, platforms)
    b_in.stop()  # platform B is down
    with freeze_time() as frozen:
        start = int(time.time())
        r = client.get("/logout", query_string={"id_token_hint": ids["a"]}, buffered=True)
        assert r.status_code == 200
        row_b = deliveries(app, client_id=b[0])[0]
        assert row_b["status"] == "pending" and row_b["attempts"] == 1
        assert row_b["last_status"] is None and row_b["last_error"]
        assert row_b["next_attempt_at"] == start + 10  # LOGOUT_RETRY_BASE
        assert deliveries(app, client_id=a[0])[0]["status"] == "delivered"
        assert run_worker(app)["pending"] == 0  # not due yet: nothing attempted
        frozen.tick(10)
        assert run_worker(app) == {"pending": 1, "delivered": 0, "refused": 0, "failed": 0}
        assert deliveries(app, client_id=b[0])[0]["next_attempt_at"] == start + 10 + 20
        b_in.start()  # back, on the same address
        frozen.tick(20)
        assert run_worker(app)["delivered"] == 1
        row_b = deliveries(app, client_id=b[0])[0]
        assert row_b["status"] == "delivered" and row_b["attempts"] == 3
        assert row_b["delivered_at"] == start + 30 and row_b["next_attempt_at"] is None
        # a token signed for this attempt: fresh iat, its own jti, the session of the logout
        claims = check_logout_token(app, b_in.tokens()[0], b[0], ids["b"], "RS256")
        assert claims["iat"] == start + 30 and claims["jti"] == row_b["jti"]
        frozen.tick(3600)
        assert run_worker(app) == {"pending": 0, "delivered": 0, "refused": 0, "failed": 0}
        assert len(b_in.received) == 1 and len(a_in.received) == 1


def test_deliveries_are_given_up_after_the_window_and_refusals_are_final(app, platforms,
                                                                         client):
    (a, a_in), (b, b_in) = platforms["a"], platforms["b"]
    a_in.status, b_in.status = 400, 503
    ids = sso_into(f.Flow(client), client, platforms)
    with freeze_time() as frozen:
        start = int(time.time())
        client.get("/logout", query_string={"id_token_hint": ids["a"]})
        assert run_worker(app) == {"pending": 1, "delivered": 0, "refused": 1, "failed": 0}
        row_a, row_b = deliveries(app, client_id=a[0])[0], deliveries(app, client_id=b[0])[0]
        assert (row_a["status"], row_a["last_status"]) == ("refused", 400)
        assert (row_b["status"], row_b["last_status"]) == ("pending", 503)
        attempts = 1
        while deliveries(app, client_id=b[0])[0]["status"] == "pending":
            frozen.tick(deliveries(app, client_id=b[0])[0]["next_attempt_at"] - time.time())
            run_worker(app)
            attempts += 1
        row_b = deliveries(app, client_id=b[0])[0]
        assert row_b["status"] == "failed" and row_b["attempts"] == attempts
        assert time.time() < start + app.config["LOGOUT_DELIVERY_WINDOW"]
        assert row_b["last_attempt_at"] + 900 >= start + app.config["LOGOUT_DELIVERY_WINDOW"]
        # waits doubled from 10 s and stopped growing at 15 minutes
        assert attempts == len(b_in.received) and 30 < attempts < 45
        assert len(a_in.received) == 1


def test_a_delivery_nobody_could_attempt_is_given_up_at_the_end_of_its_window(app, platforms,
                                                                              client):
    ids = sso_into(f.Flow(client), client, platforms, ("a",))
    with freeze_time() as frozen:
        client.get("/logout", query_string={"id_token_hint": ids["a"]})  # no attempt yet
        frozen.tick(app.config["LOGOUT_DELIVERY_WINDOW"])
        assert run_worker(app)["failed"] == 1
    row = deliveries(app)[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 0,
                                                                   "never attempted")
    assert platforms["a"][1].received == []


def test_a_delivery_is_taken_by_one_worker_at_a_time(app, platforms, client):
    a, a_in = platforms["a"]
    a_in.stop()
    ids = sso_into(f.Flow(client), client, platforms, ("a",))
    client.get("/logout", query_string={"id_token_hint": ids["a"]})
    row_id = deliveries(app)[0]["id"]
    with app.app_context():
        assert deliver([row_id])["pending"] == 1
        # another worker, at the same moment: it is leased, not due
        assert deliver([row_id]) == {"pending": 0, "delivered": 0, "refused": 0, "failed": 0}
    assert deliveries(app)[0]["attempts"] == 1


# --- However the session ends -----------------------------------------------------------------

def second_browser(app, platforms):
    other = f.Flow(app.test_client())
    ids = sso_into(other, other.http, platforms, ("a", "b"))
    return other, f.claims_of(app, ids["a"]).claims["sid"]


def sent_for(app, platforms, sid):
    """The sids of the logout tokens each platform received."""
    run_worker(app)
    a_in, b_in = platforms["a"][1], platforms["b"][1]
    return ({f.claims_of(app, t).claims["sid"] for t in a_in.tokens()},
            {f.claims_of(app, t).claims["sid"] for t in b_in.tokens()})


def test_ending_a_session_from_the_account_pages_sends_the_logouts(app, platforms, client):
    other, other_sid = second_browser(app, platforms)
    flow = f.Flow(client)
    mine = sso_into(flow, client, platforms, ("a",))
    my_sid = f.claims_of(app, mine["a"]).claims["sid"]
    page = flow.follow(flow.get("/account"))
    r = post_form(flow, page, f"/account/sessions/{other_sid}/end")
    assert r.status_code == 200
    assert sent_for(app, platforms, other_sid) == ({other_sid}, {other_sid})
    assert not logged_in(other.http, platforms["a"][0][0])
    assert logged_in(client, platforms["a"][0][0])
    page = flow.follow(flow.get("/account"))
    post_form(flow, page, f"/account/sessions/{my_sid}/end")  # this browser's own
    assert sent_for(app, platforms, other_sid) == ({other_sid, my_sid}, {other_sid})
    assert {d["reason"] for d in deliveries(app)} == {"ended"}
    assert len(platforms["a"][1].received) == 2  # once each, never twice


def test_a_new_login_in_the_browser_ends_the_session_it_replaces(app, platforms, client):
    with app.app_context():
        f.user(phone="13900139000", name="李四")
    flow = f.Flow(client)
    ids = sso_into(flow, client, platforms, ("a",))
    old_sid = f.claims_of(app, ids["a"]).claims["sid"]
    # someone else logs in at the same computer without logging out first
    flow.code(f.authorize_params(platforms["a"][0][0], f.pkce()[1], prompt="login"),
              username="13900139000")
    run_worker(app)
    assert [(d["sid"], d["reason"], d["status"]) for d in deliveries(app)] == [
        (old_sid, "replaced", "delivered")]
    assert f.claims_of(app, platforms["a"][1].tokens()[0]).claims["sid"] == old_sid
def test_signing_out_the_other_sessions_sends_their_logouts(app, platforms, client):
    other, other_sid = second_browser(app, platforms)
    flow = f.Flow(client)
    page = sign_in(flow)
    post_form(flow, page, "/account/sessions/end-others")
    assert sent_for(app, platforms, other_sid) == ({other_sid}, {other_sid})


def test_a_password_change_sends_the_other_sessions_logouts(app, platforms, client):
    other, other_sid = second_browser(app, platforms)
    flow = f.Flow(client)
    sign_in(flow)
    page = flow.follow(flow.get("/account/password"))
    post_form(flow, page, "/account/password", current=f.PASSWORD, new="N3w-Passw0rd!x",
              confirm="N3w-Passw0rd!x")
    assert sent_for(app, platforms, other_sid) == ({other_sid}, {other_sid})
    assert {d["reason"] for d in deliveries(app)} == {"password_changed"}


def test_an_administrators_lock_sends_the_logouts(app, platforms, client):
    from tests.integration.test_admin_api import Api
    from tests.integration.test_admin_api import client_token

    other, other_sid = second_browser(app, platforms)
    _robot, token = client_token(app, "user_admin")
    with app.app_context():
        from idp.accounts.models import User

        uid = User.query.filter_by(phone="+8613800138000").one().id
    r = Api(app, token).post(f"/users/{uid}/lock", buffered=True)
    assert r.status_code == 200
    a_in, b_in = platforms["a"][1], platforms["b"][1]
    assert len(a_in.received) == 1 and len(b_in.received) == 1  # right after the answer
    assert sent_for(app, platforms, other_sid) == ({other_sid}, {other_sid})
    assert {(d["reason"], d["user_id"]) for d in deliveries(app)} == {("account_locked", uid)}


def test_the_command_line_lock_delivers_at_once(app, platforms):
    other, other_sid = second_browser(app, platforms)
    r = app.test_cli_runner().invoke(args=["users", "lock", "--phone", "13800138000"])
    assert r.exit_code == 0, r.output
    assert [d["status"] for d in deliveries(app)] == ["delivered", "delivered"]


# --- Outbound calls ------------------------------------------------------------------------------

@pytest.mark.config(LOGOUT_CONNECT_TIMEOUT=0.5, LOGOUT_READ_TIMEOUT=0.5)
def test_a_platform_that_never_answers_costs_the_read_timeout(app, platforms, client):
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are accepted by the kernel; nobody ever answers
    a = platforms["a"][0]
    try:
        with app.app_context():
            from clients.service import update_client

            update_client(a[0], {"backchannel_logout_uri":
                                 f"http://127.0.0.1:{silent.getsockname()[1]}/bc"}, actor="test")
        ids = sso_into(f.Flow(client), client, platforms, ("a",))
        client.get("/logout", query_string={"id_token_hint": ids["a"]})
        started = time.monotonic()
        assert run_worker(app)["pending"] == 1
        assert time.monotonic() - started < 3
        row = deliveries(app)[0]
        assert row["status"] == "pending" and "timed out" in row["last_error"]
    finally:
        silent.close()


def test_proxies_in_the_environment_are_not_used(app, platforms, client, monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/")  # nothing listens on the discard port
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    ids = sso_into(f.Flow(client), client, platforms, ("a",))
    client.get("/logout", query_string={"id_token_hint": ids["a"]})
    assert run_worker(app)["delivered"] == 1


@pytest.mark.parametrize("uri", [
    "http://127.0.0.1/bc", "https://127.0.0.1/bc", "https://10.1.2.3/bc",
    "https://169.254.169.254/latest", "https://[::1]/bc", "https://localhost/bc",
    "https://no-such-host.invalid/bc", "https://8.8.8.8:8443/bc"])
def test_production_refuses_back_channel_uris_on_its_own_network(uri):
    from clients.fetch import fetch_for
    from clients.validation import ClientValidationError
    from clients.validation import normalize
    from idp import create_app

    data = {"client_name": "X", "redirect_uris": ["https://x.gov.example/cb"],
            "backchannel_logout_uri": uri}
    app = create_app(f.PRODUCTION)
    with app.app_context():
        with pytest.raises(ClientValidationError) as exc:
            normalize(data, fetched=fetch_for(data))
        assert exc.value.error == "invalid_client_metadata"
        assert exc.value.description.startswith("backchannel_logout_uri ")
        data["backchannel_logout_uri"] = "https://8.8.8.8/bc"
        assert normalize(data, fetched=fetch_for(data))["backchannel_logout_uri"] == (
            "https://8.8.8.8/bc")


def test_production_never_posts_to_its_own_network_even_if_dns_changes(monkeypatch):
    """A URI registered while its host was public is checked again at each attempt, and the
    connection goes to the address checked (no rebinding)."""
    import socket

    from clients import fetch
    from idp import create_app

    app = create_app(f.PRODUCTION)
    options = {"connect_timeout": 1, "read_timeout": 1, "redirects": False}
    with app.app_context():
        for url in ("http://127.0.0.1:8080/bc", "https://127.0.0.1/bc", "https://10.0.0.1/bc"):
            with pytest.raises(fetch.FetchError):
                fetch.send(url, b"logout_token=x", **options)
        answers = iter([("93.184.216.34",), ("127.0.0.1",)])

        def resolve(host, port, *args, **kwargs):
            address = next(answers, ("127.0.0.1",))[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(fetch.socket, "getaddrinfo", resolve)
        with pytest.raises(fetch.FetchError, match="public"):
            fetch.send("https://rebind.example/bc", b"logout_token=x", **options)


# --- Registration ------------------------------------------------------------------------------

def register_error(app, **metadata):
    from clients import service

    metadata = {"client_name": "P", "redirect_uris": ["https://p.gov.example/cb"], **metadata}
    with app.app_context():
        try:
            client, _secret = service.register_client(metadata, actor="test")
        except service.ClientValidationError as exc:
            return exc.error, exc.description
        return service.client_metadata(client)


@pytest.mark.parametrize("metadata, message", [
    ({"backchannel_logout_uri": "http://p.gov.example/bc"}, "must use https"),
    ({"backchannel_logout_uri": "https://p.gov.example/bc#x"}, "has a fragment"),
    ({"backchannel_logout_uri": "https://u:p@p.gov.example/bc"}, "absolute URL with a host"),
    ({"backchannel_logout_uri": "/bc"}, "absolute URL with a host"),
    ({"backchannel_logout_uri": 7}, "must be a string"),
    ({"backchannel_logout_uri": "https://p.gov.example/" + "b" * 500}, "longer than 500"),
    ({"backchannel_logout_session_required": "yes"}, "must be true or false"),
    ({"frontchannel_logout_uri": "https://other.gov.example/fc"},
     "scheme, host and port of one of the redirect URIs"),
    ({"frontchannel_logout_uri": "https://p.gov.example:8443/fc"},
     "scheme, host and port of one of the redirect URIs"),
    ({"frontchannel_logout_uri": "http://p.gov.example/fc"}, "must use https"),
    ({"frontchannel_logout_uri": "https://p.gov.example/fc#x"}, "has a fragment"),
    ({"frontchannel_logout_session_required": 1}, "must be true or false"),
])
def test_logout_metadata_is_checked(app, metadata, message):
    error, description = register_error(app, **metadata)
    assert error == "invalid_client_metadata" and message in description, description


def test_logout_metadata_is_stored_and_answered(app):
    data = register_error(app, backchannel_logout_uri="https://p.gov.example/bc?x=1",
                          backchannel_logout_session_required=True,
                          frontchannel_logout_uri="https://p.gov.example/fc",
                          post_logout_redirect_uris=["https://p.gov.example/bye"])
    assert data["backchannel_logout_uri"] == "https://p.gov.example/bc?x=1"
    assert data["backchannel_logout_session_required"] is True
    assert data["frontchannel_logout_uri"] == "https://p.gov.example/fc"
    assert data["frontchannel_logout_session_required"] is False
    assert data["post_logout_redirect_uris"] == ["https://p.gov.example/bye"]
    # http on a loopback host outside production, for development
    data = register_error(app, redirect_uris=["http://127.0.0.1:8080/cb"],
                          backchannel_logout_uri="http://127.0.0.1:8080/bc",
                          frontchannel_logout_uri="http://127.0.0.1:8080/fc")
    assert data["backchannel_logout_uri"] == "http://127.0.0.1:8080/bc"


def test_dynamic_registration_takes_the_logout_metadata_and_a_change_is_reviewed(app, client):
    with app.app_context():
        from clients.service import issue_initial_access_token

        _iat, token = issue_initial_access_token(actor="test", label="t", expires_in=600,
                                                 max_uses=2)
    body = {"client_name": "P", "redirect_uris": ["https://p.gov.example/cb"],
            "backchannel_logout_uri": "https://p.gov.example/bc",
            "backchannel_logout_session_required": True,
            "frontchannel_logout_uri": "https://p.gov.example/fc",
            "post_logout_redirect_uris": ["https://p.gov.example/bye"]}
    bad = {**body, "backchannel_logout_uri": "http://p.gov.example/bc"}
    r = client.post("/connect/register", json=bad, headers={"Authorization": "Bearer " + token})
    assert r.status_code == 400 and r.get_json() == {
        "error": "invalid_client_metadata",
        "error_description": "backchannel_logout_uri must use https"}
    r = client.post("/connect/register", json=body, headers={"Authorization": "Bearer " + token})
    assert r.status_code == 201, r.get_json()
    got = r.get_json()
    assert {k: got[k] for k in body} == body and got["status"] == "pending"
    with app.app_context():
        from clients.service import set_status

        set_status(got["client_id"], "active", actor="test")
    for uri, status in (("https://p.gov.example/bc", "active"),  # unchanged
                        ("https://p.gov.example/elsewhere", "pending")):  # reviewed again
        r = client.put(got["registration_client_uri"].removeprefix(app.config["ISSUER"]),
                       json={**body, "client_id": got["client_id"],
                             "backchannel_logout_uri": uri},
                       headers={"Authorization": "Bearer " + got["registration_access_token"]})
        assert r.status_code == 200 and r.get_json()["backchannel_logout_uri"] == uri
        assert r.get_json()["status"] == status


# --- Command line, console, API ----------------------------------------------------------------

def test_the_command_line_registers_logout_uris_and_runs_the_queue(app, receivers):
    import json

    receiver = receivers(status=503)
    cli = app.test_cli_runner()
    r = cli.invoke(args=["clients", "create", "--name", "税务平台", "--redirect-uri",
                         "http://127.0.0.1:9000/cb", "--post-logout-redirect-uri",
                         "http://127.0.0.1:9000/bye", "--backchannel-logout-uri", receiver.url,
                         "--backchannel-logout-session-required", "--frontchannel-logout-uri",
                         "http://127.0.0.1:9000/fc", "--json"])
    assert r.exit_code == 0, r.output
    made = json.loads(r.output)
    assert made["backchannel_logout_uri"] == receiver.url
    assert made["post_logout_redirect_uris"] == ["http://127.0.0.1:9000/bye"]
    assert made["frontchannel_logout_uri"] == "http://127.0.0.1:9000/fc"
    r = cli.invoke(args=["clients", "create", "--name", "X", "--redirect-uri",
                         "http://127.0.0.1:9000/cb", "--backchannel-logout-uri",
                         "http://gov.example/bc"])
    assert r.exit_code == 1
    assert "invalid_client_metadata: backchannel_logout_uri must use https" in r.output
    with app.app_context():
        f.user()
        cid = made["client_id"]
    flow = f.Flow(app.test_client())
    ids = sso_into(flow, flow.http, {"a": ((cid, made["client_secret"]), receiver)}, ("a",))
    flow.http.get("/logout", query_string={"id_token_hint": ids["a"]})
    r = cli.invoke(args=["logout", "deliver", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["pending"] == 1
    r = cli.invoke(args=["logout", "deliveries", "--client-id", cid, "--json"])
    listed = json.loads(r.output)
    assert listed["total"] == 1 and listed["deliveries"][0]["last_status"] == 503
    r = cli.invoke(args=["logout", "deliveries", "--status", "delivered"])
    assert r.exit_code == 0 and r.output.strip() == "no deliveries"
    r = cli.invoke(args=["logout", "deliveries", "--status", "lost"])
    assert r.exit_code == 2 and "Invalid value for '--status'" in r.output
    r = cli.invoke(args=["logout", "deliveries"])
    assert f"{cid}" in r.output and "pending" in r.output and "HTTP 503" in r.output


def test_administrators_see_the_deliveries(app, platforms, client):
    from tests.integration.test_admin_api import Api
    from tests.integration.test_admin_api import client_token
    from tests.integration.test_admin_api import make_staff
    from tests.integration.test_admin_console import console

    a, (b, b_in) = platforms["a"][0], platforms["b"]
    b_in.status = 500
    ids = sso_into(f.Flow(client), client, platforms)
    client.get("/logout", query_string={"id_token_hint": ids["a"]})
    run_worker(app)
    _robot, token = client_token(app, "client_registrar")
    api = Api(app, token)
    page = api.get(f"/clients/{b[0]}/logout-deliveries").get_json()
    assert page["total"] == 1 and page["page"] == 1
    item = page["items"][0]
    assert (item["status"], item["attempts"], item["last_status"], item["reason"]) == (
        "pending", 1, 500, "logout")
    assert item["sid"] == f.claims_of(app, ids["b"]).claims["sid"] and "sub" not in item
    r = api.get(f"/clients/{a[0]}/logout-deliveries", query_string={"status": "pending"})
    assert r.get_json()["total"] == 0
    r = api.get(f"/clients/{a[0]}/logout-deliveries", query_string={"status": "lost"})
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"
    assert api.get("/clients/nope/logout-deliveries").status_code == 404
    _robot, auditor = client_token(app, "user_admin", name="Robot 2")
    assert Api(app, auditor).get(f"/clients/{a[0]}/logout-deliveries").status_code == 403
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, _page = console(app, "13900139000", codes, f"/admin/clients/{b[0]}")
    html = flow.get(f"/admin/clients/{b[0]}").get_data(as_text=True)
    assert f"/admin/clients/{b[0]}/logout-deliveries" in html and b_in.url in html
    page = flow.get(f"/admin/clients/{b[0]}/logout-deliveries")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-status="pending"' in html and "HTTP 500" in html
    assert "投递中（重试中）" in html
    html = flow.get(f"/admin/clients/{b[0]}/logout-deliveries?status=delivered").get_data(
        as_text=True)
    assert 'data-status="pending"' not in html


def test_the_console_form_takes_the_logout_uris(app, receivers):
    from tests.integration.test_admin_api import make_staff
    from tests.integration.test_admin_console import console
    from tests.integration.test_admin_console import send

    receiver = receivers()
    _uid, codes = make_staff(app, "13900139000", "client_registrar")
    flow, page = console(app, "13900139000", codes, "/admin/clients/new")
    fields = {"client_name": "社保平台", "application_type": "web",
              "redirect_uris": "http://127.0.0.1:9000/cb", "grant_types": "authorization_code",
              "scope": "openid", "token_endpoint_auth_method": "client_secret_basic",
              "subject_type": "pairwise", "id_token_signed_response_alg": "ES256",
              "min_loa": "1"}
    r = send(flow, page, "/admin/clients/new", **fields,
             backchannel_logout_uri="http://gov.example/bc")
    assert r.status_code == 400 and 'id="error-backchannel_logout_uri"' in r.get_data(
        as_text=True)
    page = flow.get("/admin/clients/new")
    r = send(flow, page, "/admin/clients/new", **fields, backchannel_logout_uri=receiver.url,
             backchannel_logout_session_required="yes",
             frontchannel_logout_uri="http://127.0.0.1:9000/fc")
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    with app.app_context():
        from clients.models import Client

        row = Client.query.filter_by(name="社保平台").one()
        assert (row.backchannel_logout_uri, row.backchannel_logout_session_required,
                row.frontchannel_logout_uri, row.frontchannel_logout_session_required) == (
            receiver.url, True, "http://127.0.0.1:9000/fc", False)


def test_the_development_server_runs_the_worker_in_a_thread(tmp_path, receivers):
    from tests.conftest import make_app

    receiver = receivers(status=503)
    app = make_app(f"sqlite:///{tmp_path / 'dev.db'}", LOGOUT_WORKER_THREAD=True,
                   LOGOUT_WORKER_INTERVAL=0.1, LOGOUT_RETRY_BASE=1)
    with app.app_context():
        f.user()
        rp = f.rp(backchannel_logout_uri=receiver.url)
    http = app.test_client()
    try:
        ids = sso_into(f.Flow(http), http, {"a": (rp, receiver)}, ("a",))
        assert "idp.logout.worker" in app.extensions  # started by the first request
        http.get("/logout", query_string={"id_token_hint": ids["a"]})  # not closed: no attempt
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        receiver.status = 200
        while deliveries(app)[0]["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert deliveries(app)[0]["status"] == "delivered" and len(receiver.received) >= 3
    finally:
        app.extensions["idp.logout.worker"].set()


@pytest.mark.parametrize("change, message", [
    ({"LOGOUT_TOKEN_TTL": 3600}, "LOGOUT_TOKEN_TTL must be 10 to 600 seconds"),
    ({"LOGOUT_DELIVERY_WINDOW": 5}, "LOGOUT_DELIVERY_WINDOW must be at least 60 seconds"),
    ({"LOGOUT_READ_TIMEOUT": 0}, "IDP_LOGOUT_READ_TIMEOUT must be a number of seconds"),
    ({"LOGOUT_RECORD_RETENTION": 3600},
     "LOGOUT_RECORD_RETENTION must be at least LOGOUT_DELIVERY_WINDOW"),
])
def test_logout_settings_are_checked_at_start(change, message):
    from config import ConfigError
    from idp import create_app

    with pytest.raises(ConfigError, match=message):
        create_app({**f.PRODUCTION, **change})


def test_finished_deliveries_are_forgotten_after_their_retention(app, platforms, client):
    """They hold a sid and a sub: kept for administrators for LOGOUT_RECORD_RETENTION, then
    deleted (by the worker, or ``idp logout forget``); a delivery still pending stays."""
    (a, _a_in), (b, b_in) = platforms["a"], platforms["b"]
    b_in.stop()
    ids = sso_into(f.Flow(client), client, platforms)
    retention = app.config["LOGOUT_RECORD_RETENTION"]
    with freeze_time() as frozen:
        client.get("/logout", query_string={"id_token_hint": ids["a"]}, buffered=True)
        with app.app_context():  # B's is still pending (as if a worker died holding it)
            LogoutDelivery.query.filter_by(client_id=b[0]).update({"expires_at": 2**31 - 1})
            db.session.commit()
        assert [(d["client_id"], d["status"]) for d in deliveries(app)] == [
            (a[0], "delivered"), (b[0], "pending")]
        frozen.tick(retention - 1)
        r = app.test_cli_runner().invoke(args=["logout", "forget"])
        assert (r.exit_code, r.output) == (0, "forgotten: 0\n")
        frozen.tick(1)
        r = app.test_cli_runner().invoke(args=["logout", "forget"])
        assert (r.exit_code, r.output) == (0, "forgotten: 1\n")
    assert [(d["client_id"], d["status"]) for d in deliveries(app)] == [(b[0], "pending")]
