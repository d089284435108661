"""Consent is remembered per citizen and client, and concurrent grants do not collide."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy import text

from idp.accounts.models import Consent
from idp.accounts.service import remember_consent
from idp.extensions import db
from tests import factories as f


def test_scopes_accumulate(app):
    with app.app_context():
        user = f.user()
        remember_consent(user.id, "c1", ["openid", "profile"])
        remember_consent(user.id, "c1", ["openid", "phone"])
        assert Consent.query.one().scope == "openid phone profile"


def test_a_concurrent_first_consent_is_merged_not_a_500(app, database_url):
    if not database_url:
        pytest.skip("needs a second connection to a shared database (PostgreSQL run)")
    with app.app_context():
        user = f.user()
        other = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))

        fired = []

        def competing_tab(session, flush_context, instances):
            if fired:
                return
            fired.append(True)
            with other.begin() as conn:
                conn.execute(text("INSERT INTO consents (user_id, client_id, scope, granted_at) "
                                  "VALUES (:u, 'c1', 'openid email', 1)"), {"u": user.id})

        event.listen(db.session, "before_flush", competing_tab)
        try:
            remember_consent(user.id, "c1", ["openid", "profile"])
        finally:
            event.remove(db.session, "before_flush", competing_tab)
            other.dispose()
        assert fired and Consent.query.one().scope == "email openid profile"


def _consent_page(app, client_id, redirect_uri=f.REDIRECT_URI):
    flow = f.Flow(app.test_client())
    params = f.authorize_params(client_id, f.pkce()[1], redirect_uri=redirect_uri,
                                scope="openid")
    page = flow.login(flow.follow(flow.start(params)))
    html = page.get_data(as_text=True)
    assert 'name="decision"' in html, html[:500]
    return html


def test_the_consent_page_names_where_the_citizen_returns_and_who_chose_the_name(app):
    """The name is the platform's own choice; the host the code goes to is what it proved.
    A platform that registered itself says so."""
    from clients import service
    from tests.integration.test_dynamic_registration import register

    with app.app_context():
        f.user()
        operator, _secret = f.rp(name="税务平台", redirect_uris=("https://tax.gov.example/cb",))
        _row, token = service.issue_initial_access_token(actor="admin:1", label="x",
                                                         expires_in=600, auto_approve=True)
    html = _consent_page(app, operator, "https://tax.gov.example/cb")
    assert 'id="consent-destination"' in html and "tax.gov.example" in html
    assert 'id="consent-self-registered"' not in html
    body = register(app.test_client(), token, {
        "client_name": "税务平台", "redirect_uris": ["https://政府.cn/cb"]}).get_json()
    html = _consent_page(app, body["client_id"], "https://xn--mxtq1m.cn/cb")
    assert 'id="consent-self-registered"' in html
    destination = html.split('id="consent-destination"')[1].split("</p>")[0]
    assert "xn--mxtq1m.cn" in destination  # the ASCII form: no look-alike letters
