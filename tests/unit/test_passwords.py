"""argon2id with configured parameters, rehash on change, one answer for every failure."""

import pytest

from idp.accounts.models import User
from idp.accounts.service import authenticate
from idp.extensions import db
from tests import factories as f
from tests.conftest import make_app


@pytest.fixture
def app(database_url):
    return make_app(database_url)


def test_hash_is_argon2id_with_configured_parameters(app):
    with app.app_context():
        user = f.user()
        assert user.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
        assert "S3cure" not in user.password_hash


def test_hash_is_upgraded_when_parameters_change(database_url, tmp_path):
    url = database_url or f"sqlite:///{tmp_path / 'p.db'}"
    with make_app(url).app_context():
        f.user()
    stronger = make_app(url, fresh=False, ARGON2_MEMORY_COST=2048, ARGON2_TIME_COST=2)
    with stronger.app_context():
        assert authenticate("13800138000", f.PASSWORD).user is not None
        user = User.query.filter_by(phone="+8613800138000").one()
        assert "$m=2048,t=2,p=1$" in user.password_hash


def test_failures_look_alike(app):
    with app.test_request_context():
        f.user()
        assert authenticate("13800138000", "wrong").problem == "invalid"
        assert authenticate("13999999999", "wrong").problem == "invalid"
        assert authenticate("", "").problem == "invalid"
        assert authenticate("x" * 1000, "p").problem == "invalid"
        user = User.query.one()
        user.status = "disabled"
        db.session.commit()
        assert authenticate("13800138000", "wrong").problem == "invalid"
        assert authenticate("13800138000", f.PASSWORD).problem == "disabled"


def test_login_by_email_needs_a_confirmed_address(app):
    with app.test_request_context():
        user = f.user(email="Zhang@Example.cn")
        assert authenticate("zhang@example.cn", f.PASSWORD).problem == "invalid"
        user.email_verified = True
        db.session.commit()
        assert authenticate("ZHANG@example.cn", f.PASSWORD).user is not None
