"""Logins through a regional identity provider (identity brokering), against a second
instance of this provider started by the test (``tests.upstream``): first logins (an account
created, or an existing one linked after logging in to it), later logins straight through, the
level each login counts for, answers that are forged, replayed or mixed up, providers that are
disabled or down, the account page's links, and logging out there too."""

import socket
import time

import pyotp
import pytest

from idp.accounts.models import User
from idp.audit.models import AuditEvent
from idp.federation.models import UpstreamLink
from mfa import sms
from tests import factories as f
from tests.conftest import ISSUER
from tests.integration.test_mfa_login import enrol_totp
from tests.upstream import PHONE
from tests.upstream import Citizen
from tests.upstream import federated_form
from tests.upstream import path_of
from tests.upstream import regional
from tests.upstream import upstream_form

LOA = "urn:cn:gov:idp:loa:"
NOT_VERIFIED = ("The answer from zj 政务服务网 could not be verified, so it was not accepted. "
                "Log in again, or another way.")
#: (no journey is known yet: the page speaks the default language)
NOT_STARTED_HERE = ("这个来自地方身份认证平台的应答不属于在本浏览器中发起的登录，或已被使用、"
                    "已过期。请返回服务重新开始。")


@pytest.fixture
def zj(app, tmp_path):
    with regional(tmp_path, ISSUER) as provider:
        provider.register_at(app)
        yield provider


@pytest.fixture
def cid(app):
    with app.app_context():
        return f.rp(name="社保服务平台")


def start(flow, cid, slug="zj", **params):
    """From a platform's request to the regional provider's authorization URL; returns (that
    URL, the platform's parameters, its PKCE verifier)."""
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid[0], challenge, ui_locales="en", **params)
    page = flow.follow(flow.start(params))
    action, fields = upstream_form(page.get_data(as_text=True))
    response = flow.post(action, data={**fields, "upstream": slug})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return response.headers["Location"], params, verifier


def back(flow, callback):
    """The browser arrives at the national callback."""
    return flow.follow(flow.get(path_of(callback)))


def choose(flow, page, choice, **fields):
    action, hidden = federated_form(page.get_data(as_text=True))
    return flow.follow(flow.post(action, data={**hidden, "federated": choice, **fields}))


def finish(flow, page, client, cid, params, verifier):
    """Consent if asked, then the platform's code, exchanged: the ID token's claims."""
    if page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True):
        page = flow.consent(page)
    assert page.status_code == 302, page.get_data(as_text=True)[:1500]
    q = f.query(page.headers["Location"])
    assert q["state"] == params["state"]
    r = client.post("/token", auth=cid, data={
        "grant_type": "authorization_code", "code": q["code"], "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier})
    assert r.status_code == 200, r.get_json()
    return f.claims_of(client.application, r.get_json()["id_token"]).claims


def first_login(flow, zj, cid, **params):
    url, params, verifier = start(flow, cid, **params)
    return back(flow, Citizen(zj).log_in(url)), params, verifier


def linked(app, client, zj, cid, name="张三"):
    """An account here (named ``name``) linked at a first login through the provider; returns
    the browser, logged in."""
    with app.app_context():
        f.user(name=name)
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    page = flow.login(choose(flow, page, "link"))
    finish(flow, choose(flow, page, "link"), client, cid, params, verifier)
    return flow


def events(app, action):
    with app.app_context():
        return [(e.outcome, e.detail) for e in AuditEvent.query.filter_by(action=action)]


# --- First logins -------------------------------------------------------------------------------

def test_first_login_creates_an_account_with_the_number_the_provider_vouched_for(
        app, client, zj, cid):
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You logged in at zj 政务服务网 as 王五." in html
    assert '<button type="submit" name="federated" value="create">' in html
    assert '<button type="submit" name="federated" value="link" class="secondary">' in html
    assert "Its mobile number: +8613900139000, as zj 政务服务网 confirmed it." in html

    claims = finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    assert claims["amr"] == ["fed"] and claims["acr"] == LOA + "1"
    with app.app_context():
        user = User.query.filter_by(phone="+8613900139000").one()
        assert (user.name, user.phone_verified, user.password_hash, user.loa) == (
            "王五", True, None, 1)
        link = UpstreamLink.query.one()
        assert (link.user_id, link.upstream.slug) == (user.id, "zj")
    assert [d["method"] for _o, d in events(app, "account.registered")] == ["upstream"]
    assert [o for o, _d in events(app, "upstream.login")] == ["success"]


@pytest.mark.parametrize("name", ["王\x00五", "王\u202e五", "王\u200b五"])
def test_a_name_with_a_control_or_invisible_character_is_not_taken(app, client, zj, cid, name):
    """NUL (PostgreSQL refuses it in text), a bidi override, a zero-width space: the name is
    left out, the account is created without one."""
    with zj.app.app_context():
        from idp.extensions import db

        User.query.one().name = name
        db.session.commit()
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    assert "You logged in at zj 政务服务网 as a person we do not know yet." in page.get_data(
        as_text=True)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    with app.app_context():
        assert User.query.filter_by(phone="+8613900139000").one().name is None


def test_later_logins_go_straight_through(app, client, zj, cid):
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)

    other = f.Flow(app.test_client())  # another browser: no session here, one at the provider
    url, params, verifier = start(other, cid)
    page = back(other, Citizen(zj).log_in(url))
    claims = finish(other, page, client, cid, params, verifier)
    assert claims["amr"] == ["fed"]
    with app.app_context():
        assert User.query.count() == 1 and UpstreamLink.query.count() == 1
        assert UpstreamLink.query.one().last_login_at >= int(time.time()) - 5
    assert [d["linked"] for _o, d in events(app, "upstream.login")] == [False, True]


def test_a_number_not_vouched_for_is_confirmed_by_a_code(app, client, tmp_path, cid):
    with regional(tmp_path, ISSUER) as zj:
        zj.register_at(app, claim_map={"phone_number": "no_such_claim"})
        flow = f.Flow(client)
        page, params, verifier = first_login(flow, zj, cid)
        assert "Its mobile number" not in page.get_data(as_text=True)
        page = choose(flow, page, "create")
        assert ("zj 政务服务网 did not confirm a mobile number for you."
                in page.get_data(as_text=True))
        wrong = choose(flow, page, "create", phone="12345")
        assert wrong.status_code == 400
        assert "Enter a valid mobile phone number." in wrong.get_data(as_text=True)
        page = choose(flow, wrong, "create", phone="13700137000")
        assert "We sent a code to +8613700137000." in page.get_data(as_text=True)
        with app.app_context():
            code = sms.outbox()[0]["params"]["code"]
        bad = choose(flow, page, "create", code="000000" if code != "000000" else "111111")
        assert bad.status_code == 400
        assert ("The code is wrong or has expired. Check it, or ask for a new code."
                in bad.get_data(as_text=True))
        page = choose(flow, bad, "create", phone="13700137000")  # "Send a new code"
        with app.app_context():
            code = sms.outbox()[0]["params"]["code"]
        finish(flow, choose(flow, page, "create", code=code), client, cid, params, verifier)
    with app.app_context():
        assert User.query.one().phone == "+8613700137000"


def test_a_number_that_has_an_account_must_be_linked_instead(app, client, zj, cid):
    with app.app_context():
        f.user(phone=PHONE)
    flow = f.Flow(client)
    page, _params, _verifier = first_login(flow, zj, cid)
    taken = choose(flow, page, "create")
    assert taken.status_code == 409
    assert ("An account with this mobile number already exists. Choose to link it: you log in "
            "to it once, and then zj 政务服务网 is enough." in taken.get_data(as_text=True))
    with app.app_context():
        assert User.query.count() == 1 and UpstreamLink.query.count() == 0


def test_linking_proves_control_of_the_account_with_both_factors(app, client, zj, cid):
    with app.app_context():
        f.user()
    app_totp = enrol_totp(app)
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    page = choose(flow, page, "link")
    html = page.get_data(as_text=True)
    assert "Log in to your account here once, to link it with zj 政务服务网." in html
    assert 'id="upstreams"' not in html  # no provider buttons while linking
    page = flow.login(page)
    html = page.get_data(as_text=True)
    assert "/mfa/totp" in html
    with app.app_context():
        assert UpstreamLink.query.count() == 0  # not before the second factor
    page = flow.follow(flow.post(f.form_of(html)[0], data={
        **f.form_of(html)[1], "code": app_totp.now()}))
    html = page.get_data(as_text=True)
    assert ("Link zj 政务服务网 to your account +86138****8000? Then logging in with "
            "zj 政务服务网 logs you in here." in html)
    linked = finish(flow, choose(flow, page, "link"), client, cid, params, verifier)
    assert linked["amr"] == ["pwd", "otp", "mfa"]
    with app.app_context():
        user = User.query.filter_by(phone="+8613800138000").one()
        assert UpstreamLink.query.one().user_id == user.id

    # from now on the regional login alone logs in to that account
    other = f.Flow(app.test_client())
    url, params, verifier = start(other, cid)
    claims = finish(other, back(other, Citizen(zj).log_in(url)), client, cid, params, verifier)
    assert claims["amr"] == ["fed"] and claims["sub"] == linked["sub"]


def test_linking_can_be_declined_after_logging_in(app, client, zj, cid):
    with app.app_context():
        f.user()
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    page = flow.login(choose(flow, page, "link"))
    claims = finish(flow, choose(flow, page, "skip"), client, cid, params, verifier)
    assert claims["amr"] == ["pwd"]
    with app.app_context():
        assert UpstreamLink.query.count() == 0


def test_an_answer_is_needed_on_the_first_login_page(app, client, zj, cid):
    flow = f.Flow(client)
    page, _params, _verifier = first_login(flow, zj, cid)
    refused = choose(flow, page, "maybe")
    assert refused.status_code == 400
    assert ("Choose to create an account or to link the one you have."
            in refused.get_data(as_text=True))


def test_a_first_login_answer_is_answered_only_in_the_browser_that_logged_in_there(
        app, client, zj, cid):
    """An attacker logs in at the provider with their own regional account and sends the
    first-login page's address to someone: that browser cannot link the attacker's regional
    account to its own national account (account takeover), nor create one from it."""
    with app.app_context():
        f.user()
    attacker = f.Flow(client)
    page, _params, _verifier = first_login(attacker, zj, cid)
    action, _hidden = federated_form(page.get_data(as_text=True))
    interaction = action.rsplit("/", 1)[0]
    victim = f.Flow(app.test_client())
    shown = victim.follow(victim.get(interaction))
    assert shown.status_code == 400
    assert "did not keep the login session" in shown.get_data(as_text=True)
    csrf = f.form_of(victim.follow(victim.get("/account")).get_data(as_text=True))[1]
    for choice in ("link", "create"):
        refused = victim.follow(victim.post(action, data={**csrf, "federated": choice}))
        assert refused.status_code == 400
        assert "did not keep the login session" in refused.get_data(as_text=True)
    # nor when the attacker chose to link first: the page sent is the password page
    linking = choose(attacker, page, "link")
    assert 'autocomplete="current-password"' in linking.get_data(as_text=True)
    refused = victim.login(victim.follow(victim.get(interaction)))
    assert refused.status_code == 400
    assert "did not keep the login session" in refused.get_data(as_text=True)
    with app.app_context():
        assert UpstreamLink.query.count() == 0 and User.query.count() == 1


# --- Levels -------------------------------------------------------------------------------------

def _level_at_the_provider(zj, level):
    with zj.app.app_context():
        from idp.extensions import db

        User.query.one().loa = level
        db.session.commit()


@pytest.mark.parametrize("acr_map, max_level, expected", [
    ({}, 2, 2),                       # it says level 2 (its acr is ours), trusted up to 2
    ({}, 1, 1),                       # capped: trusted only for level 1
    ({LOA + "2": 4}, 3, 3),           # its level 2 means 4 here, but it is trusted up to 3
    ({"urn:other:loa:high": 3}, 4, 1),  # an acr it never sends: what is unknown counts as 1
])
def test_the_level_is_the_lower_of_what_it_asserts_and_what_it_is_trusted_for(
        app, client, tmp_path, cid, acr_map, max_level, expected):
    with regional(tmp_path, ISSUER) as zj:
        _level_at_the_provider(zj, 2)  # a verified identity there: its logins say level 2
        zj.register_at(app, acr_map=acr_map, max_level=max_level)
        flow = f.Flow(client)
        page, params, verifier = first_login(flow, zj, cid)
        claims = finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    assert claims["acr"] == LOA + str(expected)
    assert claims["loa"] == 1 and claims["real_name_verified"] is False  # the account's own
    assert [d["vouched"] for _o, d in events(app, "upstream.login")] == [expected]


def test_single_sign_on_keeps_the_level_the_provider_vouched_for(app, client, tmp_path, cid):
    with regional(tmp_path, ISSUER) as zj:
        _level_at_the_provider(zj, 2)
        zj.register_at(app)
        flow = f.Flow(client)
        page, params, verifier = first_login(flow, zj, cid)
        first = finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid[0], challenge, prompt="none", acr_values=LOA + "2")
    again = finish(flow, flow.follow(flow.start(params)), client, cid, params, verifier)
    assert first["acr"] == again["acr"] == LOA + "2"  # the account's own level is 1
    assert again["amr"] == ["fed"] and again["sid"] == first["sid"]


def test_the_account_pages_log_in_through_a_provider_too(app, client, zj, cid):
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)

    other = f.Flow(app.test_client())  # another browser, to its account page
    page = other.follow(other.get("/account?lang=en"))
    action, fields = upstream_form(page.get_data(as_text=True))
    answer = other.post(action, data={**fields, "upstream": "zj"})
    page = back(other, Citizen(zj).log_in(answer.headers["Location"]))
    assert page.status_code == 200 and "用于登录的地方账号" in page.get_data(as_text=True)


@pytest.mark.parametrize("ours, expected", [
    ("王五", 2),    # the name the provider verified: its level counts
    ("张三", 1),    # another name: the link proves one holder, not this identity
    (None, 2),      # no name here to contradict it
])
def test_a_linked_account_under_another_name_stands_on_its_own_level(app, client, zj, cid,
                                                                    ours, expected):
    _level_at_the_provider(zj, 2)
    linked(app, client, zj, cid, name=ours)

    later = f.Flow(app.test_client())
    url, params, verifier = start(later, cid)
    claims = finish(later, back(later, Citizen(zj).log_in(url)), client, cid, params, verifier)
    assert claims["acr"] == LOA + str(expected) and claims["amr"] == ["fed"]
    [(_o, detail)] = events(app, "upstream.login")[-1:]
    assert detail["vouched"] == expected
    assert detail.get("not_counted") == (None if expected == 2 else "name")


def test_a_platform_needing_more_than_the_provider_vouches_for_asks_for_more(
        app, client, zj, cid):
    """The provider vouches for level 1: a platform needing level 2 gets the identity check
    here (the account's own level), and a second factor of the account's own on top of the
    regional login, before the login counts for 2."""
    with app.app_context():
        from idp.extensions import db

        f.user(phone=PHONE)
        db.session.get(User, 1).loa = 2
        db.session.commit()
    app_totp = enrol_totp(app)
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    page = flow.login(choose(flow, page, "link"), username=PHONE)
    html = page.get_data(as_text=True)
    page = flow.follow(flow.post(f.form_of(html)[0], data={**f.form_of(html)[1],
                                                           "code": app_totp.now()}))
    finish(flow, choose(flow, page, "link"), client, cid, params, verifier)

    other = f.Flow(app.test_client())
    url, params, verifier = start(other, cid, acr_values=LOA + "2")
    page = back(other, Citizen(zj).log_in(url))
    html = page.get_data(as_text=True)
    assert "/mfa/totp" in html and 'autocomplete="current-password"' not in html
    totp_now = pyotp.TOTP(app_totp.secret).at(int(time.time()) + 30)  # the next code
    page = other.follow(other.post(f.form_of(html)[0], data={**f.form_of(html)[1],
                                                             "code": totp_now}))
    claims = finish(other, page, client, cid, params, verifier)
    assert claims["acr"] == LOA + "2" and claims["amr"] == ["fed", "otp", "mfa"]


# --- Forged, replayed and mixed-up answers ------------------------------------------------------

def _answer(flow, zj, cid):
    """A login started here and done there: (the callback URL, the regional browser)."""
    url, _params, _verifier = start(flow, cid)
    citizen = Citizen(zj)
    return citizen.log_in(url), citizen


def _refused(page, status=400, text=NOT_VERIFIED):
    html = page.get_data(as_text=True)
    assert page.status_code == status, html[:1000]
    assert text in html
    return html


def _reasons(app):
    return [d["reason"] for o, d in events(app, "upstream.login") if o != "success"]


@pytest.mark.parametrize("claims, kid, publish, why", [
    ({"nonce": "another-nonce"}, None, True, "'nonce'"),
    ({"iss": "http://localhost:1"}, None, True, "'iss'"),
    ({"aud": "another-client"}, None, True, "'aud'"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4200}, None, True,
     "expired_token"),
    ({"iat": int(time.time()) - 3600}, None, True, "'iat'"),
    ({"iat": int(time.time()) + 3600}, None, True, "issued in the future"),
    ({}, None, False, "bad_signature"),     # a key it never published, under its own kid
    ({}, "tamper", False, "invalid_key_id"),  # ... or under a kid of the forger's
])
def test_a_forged_id_token_is_refused(app, client, zj, cid, claims, kid, publish, why):
    zj.tamper.claims, zj.tamper.kid, zj.tamper.publish = claims, kid, publish
    flow = f.Flow(client)
    callback, _citizen = _answer(flow, zj, cid)
    html = _refused(back(flow, callback))
    assert 'id="upstreams"' in html  # the login page again: log in another way
    [(outcome, detail)] = events(app, "upstream.login")
    assert (outcome, detail["reason"]) == ("failure", "id_token") and why in detail["detail"]
    with app.app_context():
        assert User.query.count() == 0


@pytest.mark.parametrize("asked, claims", [
    ({"max_age": "60"}, {"auth_time": int(time.time()) - 3600}),
    ({"max_age": "60"}, {"auth_time": None}),
    ({"prompt": "login"}, {"auth_time": int(time.time()) - 3600}),
])
def test_an_old_login_there_does_not_answer_max_age_or_prompt_login(app, client, zj, cid,
                                                                     asked, claims):
    """The platform asked for a recent login (``max_age``) or a new one (``prompt=login``):
    the provider's ID token must say (``auth_time``) that it authenticated the person within
    that time or since the login started, else its answer is refused (OIDC Core 3.1.3.7)."""
    zj.tamper.claims, zj.tamper.publish = claims, True
    flow = f.Flow(client)
    url, _params, _verifier = start(flow, cid, **asked)
    _refused(back(flow, Citizen(zj).log_in(url)))
    [(outcome, detail)] = events(app, "upstream.login")
    assert (outcome, detail["reason"]) == ("failure", "id_token")
    assert "auth_time" in detail["detail"]
    # an answer that does say so passes
    zj.tamper.claims = {"auth_time": int(time.time())}
    url, _params, _verifier = start(flow, cid, **asked)
    assert back(flow, Citizen(zj).log_in(url)).status_code == 200


def test_the_tamper_key_verifies_when_published(app, client, zj, cid):
    """The control for the forgeries: re-signed and published, an honest token passes."""
    zj.tamper.claims, zj.tamper.publish = {}, True
    flow = f.Flow(client)
    callback, _citizen = _answer(flow, zj, cid)
    assert back(flow, callback).status_code == 200
    assert _reasons(app) == []


def test_a_wrong_or_missing_iss_is_refused(app, client, zj, cid):
    flow = f.Flow(client)
    callback, _citizen = _answer(flow, zj, cid)
    assert f"iss=http%3A%2F%2Flocalhost%3A{zj.server.server_port}" in callback
    _refused(back(flow, callback.replace("iss=http%3A%2F%2Flocalhost", "iss=http%3A%2F%2Fevil")))
    callback, _citizen = _answer(flow, zj, cid)
    _refused(back(flow, callback.replace("&iss=", "&no_iss=")))
    assert _reasons(app) == ["iss", "iss"]


def test_an_unknown_state_or_one_from_another_browser_is_refused(app, client, zj, cid):
    flow = f.Flow(client)
    callback, _citizen = _answer(flow, zj, cid)
    _refused(back(flow, callback.replace("state=", "state=x")), text=NOT_STARTED_HERE)
    # the answer taken to another browser (login CSRF): not a login that browser started
    _refused(back(f.Flow(app.test_client()), callback), text=NOT_STARTED_HERE)
    # and it is still good in the browser that started it
    assert back(flow, callback).status_code == 200
    assert _reasons(app) == ["state", "state"]


def test_a_replayed_answer_or_code_is_refused(app, client, zj, cid):
    flow = f.Flow(client)
    callback, citizen = _answer(flow, zj, cid)
    assert back(flow, callback).status_code == 200
    _refused(back(flow, callback), text=NOT_STARTED_HERE)  # the same answer again
    # the code with the state of a new login here: the provider refuses the used code
    url, _params, _verifier = start(flow, cid)
    fresh = citizen.log_in(url)
    code = f.query(callback)["code"]
    _refused(back(flow, fresh.replace(f"code={f.query(fresh)['code']}", f"code={code}")))
    assert _reasons(app) == ["state", "token"]


def test_an_answer_from_one_provider_at_anothers_callback_is_refused(app, client, zj, cid,
                                                                     tmp_path):
    with regional(tmp_path, ISSUER, slug="js") as js:
        js.register_at(app)
        flow = f.Flow(client)
        callback, _citizen = _answer(flow, zj, cid)  # started at zj
        mixed = callback.replace("/upstream/zj/callback", "/upstream/js/callback")
        html = _refused(back(flow, mixed), text=(
            "The answer from js 政务服务网 could not be verified, so it was not accepted."))
    assert 'id="upstreams"' in html
    assert _reasons(app) == ["mixup"]


def test_a_login_refused_there_says_so(app, client, zj, cid):
    flow = f.Flow(client)
    url, _params, _verifier = start(flow, cid)
    callback = Citizen(zj).log_in(url, decision="deny")
    assert f.query(callback)["error"] == "access_denied"
    page = back(flow, callback)
    assert page.status_code == 200 and ("The login at zj 政务服务网 was cancelled or refused. "
                                        "Log in again, or another way." in page.get_data(
                                            as_text=True))
    assert [(o, d["reason"], d["detail"]) for o, d in events(app, "upstream.login")] == [
        ("failure", "refused", "access_denied")]


def test_a_locked_account_does_not_log_in_through_a_provider(app, client, zj, cid):
    from idp.admin import service as admin

    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    with app.app_context():
        admin.lock(User.query.one().id, actor="test", role="user_admin", reason="stolen phone")
    other = f.Flow(app.test_client())
    url, _params, _verifier = start(other, cid)
    _refused(back(other, Citizen(zj).log_in(url)), status=403, text=(
        "This account cannot log in now. Try again later, or contact the service desk."))
    assert [d["reason"] for _o, d in events(app, "login.failure")] == ["disabled"]


# --- Disabled and unreachable providers ---------------------------------------------------------

def test_a_disabled_provider_is_not_offered_and_refused(app, client, zj, cid):
    from idp.federation import service

    flow = f.Flow(client)
    page = flow.follow(flow.start(f.authorize_params(cid[0], f.pkce()[1], ui_locales="en")))
    html = page.get_data(as_text=True)
    assert '<button type="submit" name="upstream" value="zj" class="secondary">' in html
    assert "Log in with zj 政务服务网" in html
    callback, _citizen = _answer(flow, zj, cid)
    with app.app_context():
        service.set_enabled("zj", False, actor="test")
    unavailable = "This regional identity provider is not available. Log in another way."
    html = _refused(back(flow, callback), text=unavailable)  # disabled meanwhile
    assert 'id="upstreams"' not in html
    action = f.form_of(html)[0].replace("/login", "/upstream")
    _refused(flow.post(action, data={"csrf_token": f.form_of(html)[1]["csrf_token"],
                                     "upstream": "zj"}), text=unavailable)


def test_a_provider_disabled_during_a_first_login_leaves_the_other_ways(app, client, zj, cid):
    from idp.federation import service

    with app.app_context():
        f.user()
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    with app.app_context():
        service.set_enabled("zj", False, actor="test")
    page = _refused(choose(flow, page, "create"), text=(
        "This regional identity provider is not available. Log in another way."))
    page = flow.login(flow.follow(flow.get(f.form_of(page)[0].replace("/login", ""))))
    claims = finish(flow, page, client, cid, params, verifier)
    assert claims["amr"] == ["pwd"]
    with app.app_context():
        assert User.query.count() == 1 and UpstreamLink.query.count() == 0


def test_a_provider_that_is_down_gets_a_clear_page(app, client, zj, cid):
    from idp.federation import service

    flow = f.Flow(client)
    callback, _citizen = _answer(flow, zj, cid)
    zj.stop()  # down after the login there: the token endpoint does not answer
    _refused(back(flow, callback), status=503, text=(
        "zj 政务服务网 cannot be reached just now. Log in another way, or try again in a few "
        "minutes."))
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with app.app_context():  # down before: its discovery document does not come
        service.add({"slug": "gone", "name": "离线政务网", "issuer": f"http://localhost:{port}",
                     "client_id": "x", "client_secret": "y", "max_level": 2}, actor="test")
    page = flow.follow(flow.start(f.authorize_params(cid[0], f.pkce()[1], ui_locales="en")))
    action, fields = upstream_form(page.get_data(as_text=True))
    _refused(flow.post(action, data={**fields, "upstream": "gone"}), status=503, text=(
        "离线政务网 cannot be reached just now. Log in another way, or try again in a few "
        "minutes."))
    assert [(o, d["upstream"], d["reason"]) for o, d in events(app, "upstream.login")] == [
        ("error", "zj", "unreachable"), ("error", "gone", "unreachable")]


# --- The account page's links -------------------------------------------------------------------

def _account(flow):
    page = flow.get("/account?lang=en")
    assert page.status_code == 200, page.headers.get("Location")
    return page


def test_the_account_page_lists_and_unlinks_providers(app, client, zj, cid):
    from tests.integration.test_admin_console import send

    flow = linked(app, client, zj, cid)
    page = _account(flow)
    html = page.get_data(as_text=True)
    assert "Regional accounts you log in with" in html and "zj 政务服务网 · linked" in html
    assert "<td>Regional account linked</td>" in html  # among the recent security events
    with app.app_context():
        link_id = UpstreamLink.query.one().id
    done = send(flow, page, f"/account/upstreams/{link_id}/unlink")
    assert done.status_code == 303 and done.headers["Location"].endswith("/account")
    assert ("The regional identity provider was unlinked. Logging in there no longer logs you "
            "in here." in _account(flow).get_data(as_text=True))
    with app.app_context():
        assert UpstreamLink.query.count() == 0
    assert [d["upstream"] for _o, d in events(app, "upstream.unlinked")] == ["zj"]
    # someone else's link, or none: nothing happens
    again = send(flow, page, f"/account/upstreams/{link_id}/unlink")
    assert "Nothing was changed." in flow.follow(again).get_data(as_text=True)

    # the next login there is a first login again
    other = f.Flow(app.test_client())
    url, _params, _verifier = start(other, cid)
    assert 'name="federated" value="create"' in back(
        other, Citizen(zj).log_in(url)).get_data(as_text=True)


def test_unlinking_needs_a_recent_login(app, client, zj, cid):
    """As for removing a factor: ten minutes after the login, log in again first."""
    import datetime

    from freezegun import freeze_time

    from tests.integration.test_admin_console import send

    flow = linked(app, client, zj, cid)
    page = _account(flow)
    with app.app_context():
        link_id = UpstreamLink.query.one().id
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=11)
    with freeze_time(later):
        stale = send(flow, page, f"/account/upstreams/{link_id}/unlink")
        assert stale.status_code == 303 and "/interaction/" in stale.headers["Location"]
    with app.app_context():
        assert UpstreamLink.query.count() == 1
    assert events(app, "upstream.unlinked") == []


def test_an_account_without_a_password_keeps_its_only_link(app, client, zj, cid):
    from tests.integration.test_admin_console import send

    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    page = _account(flow)
    with app.app_context():
        link_id = UpstreamLink.query.one().id
    kept = flow.follow(send(flow, page, f"/account/upstreams/{link_id}/unlink"))
    assert ("This account has no password: it logs in only through this provider, so the link "
            "stays." in kept.get_data(as_text=True))
    with app.app_context():
        assert UpstreamLink.query.count() == 1


def test_a_link_to_a_disabled_provider_is_no_way_to_log_in(app, client, zj, cid):
    """Without a password, the last link to a provider that is offered stays, whatever links
    to disabled providers the account also has: those log nobody in."""
    from idp.federation import service
    from tests.integration.test_admin_console import send

    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    with app.app_context():
        kept_id = UpstreamLink.query.one().id
        old = service.add({"slug": "old", "name": "旧政务网", "issuer": "http://localhost:1",
                           "client_id": "x", "client_secret": "y", "max_level": 2,
                           "enabled": False}, actor="test")
        link = service.link(old, "someone-there", User.query.one())
        old_id = link.id
    kept = flow.follow(send(flow, _account(flow), f"/account/upstreams/{kept_id}/unlink"))
    assert ("This account has no password: it logs in only through this provider, so the link "
            "stays." in kept.get_data(as_text=True))
    gone = flow.follow(send(flow, _account(flow), f"/account/upstreams/{old_id}/unlink"))
    assert "The regional identity provider was unlinked." in gone.get_data(as_text=True)
    with app.app_context():
        assert [row.id for row in UpstreamLink.query.all()] == [kept_id]


# --- Logging out there too ----------------------------------------------------------------------

def _regional_session_alive(citizen):
    answer = citizen.http.get(citizen.provider.issuer + "/account", allow_redirects=False,
                              timeout=10)
    return answer.status_code == 200


def test_logging_out_here_logs_out_at_the_provider_too(app, client, zj, cid):
    from tests.integration.test_admin_console import send

    flow = f.Flow(client)
    url, params, verifier = start(flow, cid)
    citizen = Citizen(zj)
    page = back(flow, citizen.log_in(url))
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    assert _regional_session_alive(citizen)

    out = send(flow, _account(flow), "/account/logout")
    assert out.status_code == 303  # to the rest of the logout (idp.logout.browser)
    stop = flow.get(path_of(out.headers["Location"]))
    assert stop.status_code == 303
    there = stop.headers["Location"]
    assert there.startswith(zj.issuer + "/logout?")
    q = f.query(there)
    assert q["client_id"] == zj.client_id and q["post_logout_redirect_uri"] == zj.callback
    with zj.app.app_context():  # the hint is the ID token it gave us
        assert f.claims_of(zj.app, q["id_token_hint"]).claims["aud"] == zj.client_id
    kind, returned = citizen.visit(there)
    assert kind == "redirect" and returned.startswith(zj.callback + "?state=")
    assert not _regional_session_alive(citizen)
    final = flow.get(path_of(returned))
    assert final.status_code == 303 and "/logout/done/" in final.headers["Location"]
    assert flow.get(path_of(returned)).status_code == 400  # once only
    assert flow.follow(final).status_code == 200  # our logged-out page
    assert flow.get("/account").status_code == 303  # logged out here as well


def test_a_platforms_logout_passes_by_the_provider_on_its_way_back(app, client, zj):
    with app.app_context():
        cid = f.rp(name="社保服务平台", post_logout_redirect_uris=["http://127.0.0.1:9000/bye"])
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    page = choose(flow, page, "create")
    page = flow.consent(page)
    code = f.query(page.headers["Location"])["code"]
    id_token = client.post("/token", auth=cid, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": f.REDIRECT_URI,
        "code_verifier": verifier}).get_json()["id_token"]
    out = flow.get("/logout", query_string={
        "id_token_hint": id_token, "post_logout_redirect_uri": "http://127.0.0.1:9000/bye",
        "state": "bye-1"})
    stop = flow.get(path_of(out.headers["Location"]))  # the rest of the logout
    assert stop.status_code == 303 and stop.headers["Location"].startswith(zj.issuer + "/logout?")
    returned = f.query(stop.headers["Location"])
    answer = flow.get(f"/upstream/zj/callback?state={returned['state']}")
    assert answer.status_code == 303 and "/logout/done/" in answer.headers["Location"]
    final = flow.get(path_of(answer.headers["Location"]))
    assert final.status_code == 303
    assert final.headers["Location"] == "http://127.0.0.1:9000/bye?state=bye-1"


def test_a_logged_out_page_comes_after_the_provider_too(app, client, zj, cid):
    flow = f.Flow(client)
    page, params, verifier = first_login(flow, zj, cid)
    finish(flow, choose(flow, page, "create"), client, cid, params, verifier)
    out = flow.get("/logout")  # no hint: the citizen confirms
    confirm = f.form_of(out.get_data(as_text=True))
    out = flow.post(confirm[0], data={**confirm[1], "logout": "yes"})
    stop = flow.get(path_of(out.headers["Location"]))  # the rest of the logout
    assert stop.status_code == 303 and stop.headers["Location"].startswith(zj.issuer + "/logout?")
    state = f.query(stop.headers["Location"])["state"]
    page = flow.follow(flow.get(f"/upstream/zj/callback?state={state}"))
    assert page.status_code == 200 and "<h1>您已退出登录</h1>" in page.get_data(as_text=True)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
