"""Once a login journey stands on a login, no other password replaces it.

The attack review opened a citizen's journey (its ``uid``), already at the consent page, in a
second browser and posted another account's password to ``/interaction/<uid>/login``: the
journey's login became the second browser's, that browser got the consent page of the first
one's request, and the first citizen's "allow" led back to an error. The consent, identity and
second-factor pages answer only the browser that logged in; the password step now answers
only while it is the step the journey needs."""

import re

import pyotp
from freezegun import freeze_time

from idp.accounts.models import User
from mfa import totp
from tests import factories as f

OTHER = "13900139000"


def _at_consent(app):
    with app.app_context():
        f.user()
        f.user(phone=OTHER)
        client_id, _secret = f.rp()
    flow = f.Flow(app.test_client())
    params = f.authorize_params(client_id, f.pkce()[1])
    page = flow.login(flow.follow(flow.start(params)))
    assert 'name="decision"' in page.get_data(as_text=True)
    return flow, page, params


def test_another_browser_cannot_log_in_on_a_journey_past_its_password(app):
    flow, page, params = _at_consent(app)
    action, fields = f.form_of(page.get_data(as_text=True))
    uid = action.split("/")[2]
    other = f.Flow(app.test_client())
    token = f.form_of(other.follow(other.get("/account")).get_data(as_text=True))[1]
    r = other.post(f"/interaction/{uid}/login", data={
        **token, "username": OTHER, "password": f.PASSWORD})
    assert r.status_code == 400
    assert "您的浏览器未保存登录会话" in r.get_data(as_text=True)
    assert other.http.get_cookie("idp_sso") is None  # no session was made for it
    # the first browser's journey goes on as it was
    answer = flow.consent(page)
    assert answer.status_code == 302
    query = f.query(answer.headers["Location"])
    assert "code" in query and query["state"] == params["state"]


def test_the_same_browser_posting_its_password_again_goes_on_to_the_next_page(app):
    """The back button and the login form sent again: nothing is replaced, the browser is
    sent to the page of the step the journey needs (consent)."""
    flow, page, _params = _at_consent(app)
    sso = flow.http.get_cookie("idp_sso").value
    action, fields = f.form_of(page.get_data(as_text=True))
    uid = action.split("/")[2]
    r = flow.post(f"/interaction/{uid}/login", data={
        "csrf_token": fields["csrf_token"], "username": OTHER, "password": f.PASSWORD})
    assert r.status_code == 303
    again = flow.follow(r)
    assert 'name="decision"' in again.get_data(as_text=True)
    assert flow.http.get_cookie("idp_sso").value == sso  # still the first citizen's session


# --- the second factor: only the browser that proved the first --------------------------------

def _enrol_totp(app):
    with app.app_context(), freeze_time("2026-01-01 08:00:00"):  # today's codes stay unused
        factor, _uri, _svg, text = totp.begin_enrolment(User.query.first(), "手机")
        app_totp = pyotp.TOTP(text.replace(" ", ""))
        assert totp.confirm(factor, app_totp.now())
    return app_totp


def _post_code(flow, page, code):
    html = page.get_data(as_text=True)
    action = re.search(r'action="([^"]*/mfa/totp)"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return action, flow.post(action, data={"csrf_token": token, "code": code})


def _stranger_posts(app, action, code):
    """A browser without any cookie of the journey's own sends the right code to it."""
    stranger = f.Flow(app.test_client())
    page = stranger.follow(stranger.get(action.rsplit("/mfa/", 1)[0]))
    assert page.status_code == 400
    assert "您的浏览器未保存登录会话" in page.get_data(as_text=True)
    token = f.form_of(stranger.follow(stranger.get("/register")).get_data(as_text=True))[1]
    r = stranger.post(action, data={**token, "code": code})
    assert r.status_code == 400 and stranger.http.get_cookie("idp_sso") is None
    assert "您的浏览器未保存登录会话" in r.get_data(as_text=True)


def test_a_second_factor_from_another_browser_does_not_finish_a_login(app):
    """The password was proven in the first browser: a browser holding only the journey's
    address and the code would get a login on one factor."""
    with app.app_context():
        f.user()
        client_id, _secret = f.rp()
    app_totp = _enrol_totp(app)
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.start(f.authorize_params(client_id, f.pkce()[1]))))
    action = re.search(r'action="([^"]*/mfa/totp)"', page.get_data(as_text=True)).group(1)
    _stranger_posts(app, action, app_totp.now())
    _action, r = _post_code(flow, page, app_totp.now())
    assert 'name="decision"' in flow.follow(r).get_data(as_text=True)


def test_a_step_up_is_finished_only_by_the_browser_whose_session_it_strengthens(app):
    with app.app_context():
        f.user()
        plain, _secret = f.rp()
        strict, _secret = f.rp(name="Tax", redirect_uris=("https://tax.gov.example/cb",),
                               require_mfa=True)
    flow = f.Flow(app.test_client())
    assert "code" in flow.code(f.authorize_params(plain, f.pkce()[1]))  # password only
    app_totp = _enrol_totp(app)
    page = flow.follow(flow.start(f.authorize_params(
        strict, f.pkce()[1], redirect_uri="https://tax.gov.example/cb")))
    action = re.search(r'action="([^"]*/mfa/totp)"', page.get_data(as_text=True)).group(1)
    _stranger_posts(app, action, app_totp.now())
    _action, r = _post_code(flow, page, app_totp.now())
    assert 'name="decision"' in flow.follow(r).get_data(as_text=True)
