"""Once a login journey stands on a login, no other password replaces it.

The attack review opened a citizen's journey (its ``uid``), already at the consent page, in a
second browser and posted another account's password to ``/interaction/<uid>/login``: the
journey's login became the second browser's, that browser got the consent page of the first
one's request, and the first citizen's "allow" led back to an error. The consent, identity and
second-factor pages answer only the browser that logged in; the password step now answers
only while it is the step the journey needs."""

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
