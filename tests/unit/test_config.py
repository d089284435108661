"""Fail fast at start-up on a bad configuration."""

import pytest

from config import ConfigError
from idp import create_app
from tests.factories import PRODUCTION

GOOD = PRODUCTION


def test_a_good_production_config_starts():
    app = create_app(GOOD)
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("change, message", [
    ({"SECRET_KEY": None}, "IDP_SECRET_KEY is not set"),
    ({"SECRET_KEY": "short"}, "at least 32"),
    ({"KEY_ENCRYPTION_KEY": "abc"}, "32 random bytes"),
    ({"PAIRWISE_SECRET": ""}, "IDP_PAIRWISE_SECRET is not set"),
    ({"ISSUER": "http://idp.gov.example"}, "https"),
    ({"ISSUER": "https://idp.gov.example/?x=1"}, "query"),
    ({"ISSUER": "idp.gov.example"}, "absolute"),
    ({"AUTHORIZATION_CODE_TTL": 3600}, "AUTHORIZATION_CODE_TTL"),
    ({"SMS_SENDER": "outbox"}, "IDP_SMS_SENDER=http"),
    ({"SMS_GATEWAY_URL": "http://sms.gov.example/send"}, "https"),
    ({"SMS_GATEWAY_SECRET": "short"}, "IDP_SMS_GATEWAY_SECRET"),
    ({"PII_KEYS": None}, "IDP_PII_KEYS is not set"),
    ({"PII_KEYS": "nokid"}, "kid:base64key"),
    ({"PII_KEYS": "a:" + PRODUCTION["PII_KEYS"][3:] + ",a:" + PRODUCTION["PII_KEYS"][3:]},
     "twice"),
    ({"PII_KEYS": "k1:c2hvcnQ="}, "32 random bytes"),
    ({"BLIND_INDEX_KEY": ""}, "IDP_BLIND_INDEX_KEY is not set"),
    ({"REALNAME_REGISTRY_URL": "http://registry.gov.example/api"}, "https"),
    ({"REALNAME_REGISTRY_SECRET": "short"}, "IDP_REALNAME_REGISTRY_SECRET"),
    ({"REALNAME_RETRIES": 9}, "IDP_REALNAME_RETRIES"),
    ({"DEV_REGISTRY_MOUNT": True}, "development registry"),
    ({"DEV_REGISTRY_FACE_OUTCOME": "maybe"}, "IDP_DEV_REGISTRY_FACE_OUTCOME"),
])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        create_app({**GOOD, **change})


@pytest.mark.parametrize("url", ["sqlite:////var/lib/idp/idp.db", "sqlite://", ""])
def test_production_refuses_sqlite_without_the_single_node_opt_in(url):
    """SQLite serialises writers (the audit chain's appends among them) only on one machine:
    production runs on PostgreSQL unless the operator opts in for a single node."""
    with pytest.raises(ConfigError, match="production runs on PostgreSQL: set IDP_DATABASE_URL"):
        create_app({**GOOD, "SQLALCHEMY_DATABASE_URI": url})


def test_a_single_node_may_opt_in_to_a_sqlite_file(monkeypatch, tmp_path):
    monkeypatch.setenv("IDP_ALLOW_SQLITE", "1")
    url = f"sqlite:///{tmp_path / 'idp.db'}"
    assert create_app({**GOOD, "SQLALCHEMY_DATABASE_URI": url}).config["ALLOW_SQLITE"] is True
    for memory in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=memory&uri=true"):
        with pytest.raises(ConfigError, match="in-memory SQLite"):
            create_app({**GOOD, "SQLALCHEMY_DATABASE_URI": memory})


@pytest.mark.parametrize("env", ["development", "testing"])
def test_development_and_testing_run_on_sqlite(env):
    assert create_app({**GOOD, "ENV_NAME": env, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                       "SMS_SENDER": "outbox", "EMAIL_SENDER": "outbox"})


def test_unknown_environment_is_refused(monkeypatch):
    monkeypatch.setenv("IDP_ENV", "staging")
    with pytest.raises(ConfigError, match="IDP_ENV"):
        create_app()


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("IDP_ISSUER", "https://login.gov.example/")
    monkeypatch.setenv("IDP_ARGON2_MEMORY_COST", "lots")
    with pytest.raises(ConfigError, match="whole number"):
        create_app({k: v for k, v in GOOD.items() if k != "ISSUER"})
    monkeypatch.setenv("IDP_ARGON2_MEMORY_COST", "20480")
    app = create_app({k: v for k, v in GOOD.items() if k != "ISSUER"})
    assert app.config["ISSUER"] == "https://login.gov.example"
    assert app.config["ARGON2_MEMORY_COST"] == 20480
