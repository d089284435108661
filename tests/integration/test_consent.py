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
