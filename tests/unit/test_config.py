"""Fail fast at start-up on a bad configuration."""

import pytest

from config import ConfigError
from idp import create_app

GOOD = {"ENV_NAME": "production", "ISSUER": "https://idp.gov.example",
        "SECRET_KEY": "s" * 40,
        "KEY_ENCRYPTION_KEY": "dGVzdGluZy1rZXktZW5jcnlwdGlvbi1rZXktMzItYnk=",
        "PAIRWISE_SECRET": "p" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "SMS_SENDER": "http", "SMS_GATEWAY_URL": "https://sms.gov.example/send",
        "SMS_GATEWAY_SECRET": "g" * 40, "EMAIL_SENDER": "smtp",
        "EMAIL_SMTP_HOST": "smtp.gov.example", "EMAIL_FROM": "noreply@idp.gov.example"}


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
])
def test_bad_configs_are_refused(change, message):
    with pytest.raises(ConfigError, match=message):
        create_app({**GOOD, **change})


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
