"""Configuration: documented defaults, per-environment overrides, secrets from ``IDP_*``.

``load(app, overrides)`` applies, in order: ``config.default``, ``config.<IDP_ENV>``
(production unless said otherwise), the environment, then ``overrides`` (tests). ``check``
refuses to start on a configuration that is unsafe or incomplete.
"""

import base64
import binascii
import os
from email.utils import parseaddr
from urllib.parse import urlsplit

ENVIRONMENTS = ("production", "development", "testing")

#: Environment variable -> config key. Values are strings; ``_coerce`` types them.
ENV_KEYS = {
    "IDP_ISSUER": "ISSUER",
    "IDP_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "IDP_REDIS_URL": "REDIS_URL",
    "IDP_SECRET_KEY": "SECRET_KEY",
    "IDP_KEY_ENCRYPTION_KEY": "KEY_ENCRYPTION_KEY",
    "IDP_PAIRWISE_SECRET": "PAIRWISE_SECRET",
    "IDP_PII_KEYS": "PII_KEYS",
    "IDP_BLIND_INDEX_KEY": "BLIND_INDEX_KEY",
    "IDP_REALNAME_REGISTRY_URL": "REALNAME_REGISTRY_URL",
    "IDP_REALNAME_REGISTRY_CLIENT_ID": "REALNAME_REGISTRY_CLIENT_ID",
    "IDP_REALNAME_REGISTRY_SECRET": "REALNAME_REGISTRY_SECRET",
    "IDP_REALNAME_FACE_URL": "REALNAME_FACE_URL",
    "IDP_REALNAME_FACE_SECRET": "REALNAME_FACE_SECRET",
    "IDP_REALNAME_CONNECT_TIMEOUT": "REALNAME_CONNECT_TIMEOUT",
    "IDP_REALNAME_READ_TIMEOUT": "REALNAME_READ_TIMEOUT",
    "IDP_REALNAME_RETRIES": "REALNAME_RETRIES",
    "IDP_REALNAME_ATTEMPTS_PER_DAY": "REALNAME_ATTEMPTS_PER_DAY",
    "IDP_DEV_REGISTRY_PEOPLE": "DEV_REGISTRY_PEOPLE",
    "IDP_DEV_REGISTRY_FACE_OUTCOME": "DEV_REGISTRY_FACE_OUTCOME",
    "IDP_ENTERPRISE_REGISTRY_URL": "ENTERPRISE_REGISTRY_URL",
    "IDP_ENTERPRISE_REGISTRY_CLIENT_ID": "ENTERPRISE_REGISTRY_CLIENT_ID",
    "IDP_ENTERPRISE_REGISTRY_SECRET": "ENTERPRISE_REGISTRY_SECRET",
    "IDP_DEV_REGISTRY_COMPANIES": "DEV_REGISTRY_COMPANIES",
    "IDP_ENTERPRISE_MAX_ADMINISTRATORS": "ENTERPRISE_MAX_ADMINISTRATORS",
    "IDP_PORT": "PORT",
    "IDP_TRUSTED_PROXY_HOPS": "TRUSTED_PROXY_HOPS",
    "IDP_ALLOW_INSECURE_HTTP": "ALLOW_INSECURE_HTTP",
    "IDP_ALLOW_SQLITE": "ALLOW_SQLITE",
    "IDP_ARGON2_TIME_COST": "ARGON2_TIME_COST",
    "IDP_ARGON2_MEMORY_COST": "ARGON2_MEMORY_COST",
    "IDP_ARGON2_PARALLELISM": "ARGON2_PARALLELISM",
    "IDP_RATELIMIT_LOGIN": "RATELIMIT_LOGIN",
    "IDP_SMS_SENDER": "SMS_SENDER",
    "IDP_SMS_GATEWAY_URL": "SMS_GATEWAY_URL",
    "IDP_SMS_GATEWAY_SECRET": "SMS_GATEWAY_SECRET",
    "IDP_SMS_GATEWAY_CONNECT_TIMEOUT": "SMS_GATEWAY_CONNECT_TIMEOUT",
    "IDP_SMS_GATEWAY_READ_TIMEOUT": "SMS_GATEWAY_READ_TIMEOUT",
    "IDP_SMS_IP_PER_HOUR": "SMS_IP_PER_HOUR",
    "IDP_EMAIL_SENDER": "EMAIL_SENDER",
    "IDP_EMAIL_FROM": "EMAIL_FROM",
    "IDP_EMAIL_SMTP_HOST": "EMAIL_SMTP_HOST",
    "IDP_EMAIL_SMTP_PORT": "EMAIL_SMTP_PORT",
    "IDP_EMAIL_SMTP_SECURITY": "EMAIL_SMTP_SECURITY",
    "IDP_EMAIL_SMTP_USERNAME": "EMAIL_SMTP_USERNAME",
    "IDP_EMAIL_SMTP_PASSWORD": "EMAIL_SMTP_PASSWORD",
    "IDP_EMAIL_SMTP_TIMEOUT": "EMAIL_SMTP_TIMEOUT",
    "IDP_EMAIL_IP_PER_HOUR": "EMAIL_IP_PER_HOUR",
    "IDP_LOGOUT_CONNECT_TIMEOUT": "LOGOUT_CONNECT_TIMEOUT",
    "IDP_LOGOUT_READ_TIMEOUT": "LOGOUT_READ_TIMEOUT",
    "WEB_CONCURRENCY": "WORKERS",
}


class ConfigError(RuntimeError):
    """The configuration is unusable; the message says which key and why."""


def load(app, overrides=None):
    env = os.environ.get("IDP_ENV", "production")
    if overrides and "ENV_NAME" in overrides:
        env = overrides["ENV_NAME"]
    if env not in ENVIRONMENTS:
        raise ConfigError(f"IDP_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    app.config.from_object("config.default")
    app.config.from_object(f"config.{env}")
    app.config["ENV_NAME"] = env
    for var, key in ENV_KEYS.items():
        value = os.environ.get(var)
        if value not in (None, ""):
            app.config[key] = _coerce(app.config.get(key), value, var)
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        path = os.path.join(app.instance_path, "idp.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _sqlalchemy_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["ISSUER"] = app.config["ISSUER"].rstrip("/")
    app.config["SESSION_COOKIE_SECURE"] = app.config["ISSUER"].startswith("https://")
    _use_dev_registry(app.config)
    check(app.config)


def _use_dev_registry(config):
    """With the development registry mounted (development only) and no registry configured,
    verify against the mounted one, over HTTP like any other (the legal-person registry too:
    it is mounted beside the citizen one)."""
    if config["DEV_REGISTRY_MOUNT"] and not config["ENTERPRISE_REGISTRY_URL"]:
        config["ENTERPRISE_REGISTRY_URL"] = config["ISSUER"] + "/dev/registry"
        config["ENTERPRISE_REGISTRY_SECRET"] = config["REALNAME_REGISTRY_SECRET"]
        config.setdefault("DEV_REGISTRY_SECRET", config["REALNAME_REGISTRY_SECRET"])
    if not config["DEV_REGISTRY_MOUNT"] or config["REALNAME_REGISTRY_URL"]:
        return
    config["REALNAME_REGISTRY_URL"] = config["REALNAME_FACE_URL"] = \
        config["ISSUER"] + "/dev/registry"
    config["REALNAME_FACE_SECRET"] = config["REALNAME_REGISTRY_SECRET"]
    config["DEV_REGISTRY_SECRET"] = config["REALNAME_REGISTRY_SECRET"]


def _coerce(current, value, var):
    if isinstance(current, bool):
        return value.lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{var} must be a whole number, not {value!r}") from None
    if isinstance(current, float):
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"{var} must be a number of seconds, not {value!r}") from None
    return value


def _check_seconds(config, key, upper):
    """A timeout: a number of seconds above 0 and at most ``upper``."""
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= upper:
        raise ConfigError(f"IDP_{key} must be a number of seconds between 0 and {upper}")


def _sqlalchemy_url(url):
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def decode_key(value, name):
    """A 32-byte key given as URL-safe or standard base64."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"{name} must be 32 random bytes in base64, e.g. the output of "
            "python -c 'import os,base64;print(base64.urlsafe_b64encode(os.urandom(32)).decode())'"
        )
    return raw


def check(config):
    issuer = urlsplit(config["ISSUER"])
    if issuer.scheme not in ("https", "http") or not issuer.netloc:
        raise ConfigError(f"IDP_ISSUER must be an absolute https URL, not {config['ISSUER']!r}")
    if issuer.query or issuer.fragment:
        raise ConfigError("IDP_ISSUER must not have a query or fragment (OIDC Discovery 3)")
    loopback = issuer.hostname in ("127.0.0.1", "localhost", "::1")
    if issuer.scheme == "http" and not (loopback or config["ALLOW_INSECURE_HTTP"]):
        raise ConfigError("IDP_ISSUER must use https outside a loopback development set-up")
    for key, var in (
        ("SECRET_KEY", "IDP_SECRET_KEY"),
        ("KEY_ENCRYPTION_KEY", "IDP_KEY_ENCRYPTION_KEY"),
        ("PAIRWISE_SECRET", "IDP_PAIRWISE_SECRET"),
        ("BLIND_INDEX_KEY", "IDP_BLIND_INDEX_KEY"),
    ):
        value = config.get(key)
        if not value:
            raise ConfigError(f"{var} is not set")
        if key == "KEY_ENCRYPTION_KEY":
            decode_key(value, var)
        elif len(value) < 32:
            raise ConfigError(f"{var} must be at least 32 characters")
    if config["ENV_NAME"] == "production" and issuer.scheme != "https" and not (
        config["ALLOW_INSECURE_HTTP"]
    ):
        raise ConfigError("production requires an https IDP_ISSUER")
    _check_database(config)
    if config["AUTHORIZATION_CODE_TTL"] > 600 or config["AUTHORIZATION_CODE_TTL"] < 1:
        raise ConfigError("AUTHORIZATION_CODE_TTL must be between 1 and 600 seconds")
    if config["ARGON2_MEMORY_COST"] < 8 * config["ARGON2_PARALLELISM"]:
        raise ConfigError("IDP_ARGON2_MEMORY_COST must be at least 8 KiB per lane")
    _check_sms(config)
    _check_email(config)
    _check_realname(config)
    _check_logout(config)


def _check_logout(config):
    for key in ("LOGOUT_CONNECT_TIMEOUT", "LOGOUT_READ_TIMEOUT"):
        _check_seconds(config, key, 30)
    if not 10 <= config["LOGOUT_TOKEN_TTL"] <= 600:
        raise ConfigError("LOGOUT_TOKEN_TTL must be 10 to 600 seconds (platforms refuse logout "
                          "tokens issued more than 10 minutes ago)")
    if config["LOGOUT_DELIVERY_WINDOW"] < 60:
        raise ConfigError("LOGOUT_DELIVERY_WINDOW must be at least 60 seconds")
    if config["LOGOUT_RECORD_RETENTION"] < config["LOGOUT_DELIVERY_WINDOW"]:
        raise ConfigError("LOGOUT_RECORD_RETENTION must be at least LOGOUT_DELIVERY_WINDOW "
                          "(a delivery is kept at least until it is given up)")


def _check_sender(config, kind, real, needs):
    """``IDP_<kind>_SENDER``: ``outbox`` (development) or ``real``, which production requires
    (with the settings ``needs`` names). Returns the sender."""
    sender = config[f"{kind}_SENDER"]
    if sender not in ("outbox", real):
        raise ConfigError(f"IDP_{kind}_SENDER must be outbox or {real}, not {sender!r}")
    if config["ENV_NAME"] == "production" and sender != real:
        raise ConfigError(f"production requires IDP_{kind}_SENDER={real} (the outbox is for "
                          f"development only) with {needs}")
    return sender


def _check_signed_endpoint(config, url_key, secret_key):
    """A service called with a shared secret: an absolute URL (https in production) and a
    secret of at least 32 characters."""
    url = urlsplit(config[url_key] or "")
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ConfigError(f"IDP_{url_key} must be an absolute https URL")
    if config["ENV_NAME"] == "production" and url.scheme != "https":
        raise ConfigError(f"production requires an https IDP_{url_key}")
    if not config[secret_key] or len(config[secret_key]) < 32:
        raise ConfigError(f"IDP_{secret_key} must be set, at least 32 characters")


def _check_database(config):
    """Production runs on PostgreSQL. SQLite serialises writers only on one machine (its file
    locks), so it is allowed there only by an explicit opt-in for a single node, and never in
    memory (lost at every restart, and a database per connection)."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if config["ENV_NAME"] != "production" or not url.startswith("sqlite"):
        return
    if not config["ALLOW_SQLITE"]:
        raise ConfigError("production runs on PostgreSQL: set IDP_DATABASE_URL=postgresql://… "
                          "(SQLite serves a single machine only; for a single-node deployment "
                          "on a SQLite file, set IDP_ALLOW_SQLITE=1)")
    if url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url:
        raise ConfigError("production cannot run on an in-memory SQLite database: set "
                          "IDP_DATABASE_URL to PostgreSQL or to a SQLite file")


def _check_sms(config):
    sender = _check_sender(config, "SMS", "http",
                           "IDP_SMS_GATEWAY_URL and IDP_SMS_GATEWAY_SECRET")
    for key in ("SMS_GATEWAY_CONNECT_TIMEOUT", "SMS_GATEWAY_READ_TIMEOUT"):
        _check_seconds(config, key, 30)
    if sender == "http":
        _check_signed_endpoint(config, "SMS_GATEWAY_URL", "SMS_GATEWAY_SECRET")


def pii_keys(value):
    """``IDP_PII_KEYS`` as an ordered {kid: 32-byte key}; the first seals new data."""
    keys = {}
    for item in (value or "").split(","):
        kid, sep, key = item.strip().partition(":")
        if not sep or not kid or not kid.isascii() or not kid.replace("-", "").isalnum() \
                or len(kid) > 32:
            raise ConfigError("IDP_PII_KEYS must be kid:base64key[,kid:base64key...] with short "
                              "alphanumeric key ids")
        if kid in keys:
            raise ConfigError(f"IDP_PII_KEYS names key id {kid!r} twice")
        keys[kid] = decode_key(key, f"IDP_PII_KEYS ({kid})")
    return keys


def _check_realname(config):
    if not config.get("PII_KEYS"):
        raise ConfigError("IDP_PII_KEYS is not set")
    pii_keys(config["PII_KEYS"])
    production = config["ENV_NAME"] == "production"
    if production and config["DEV_REGISTRY_MOUNT"]:
        raise ConfigError("the development registry cannot be mounted in production")
    if config["DEV_REGISTRY_FACE_OUTCOME"] not in ("ask", "pass", "fail"):
        raise ConfigError("IDP_DEV_REGISTRY_FACE_OUTCOME must be ask, pass or fail")
    for key in ("REALNAME_CONNECT_TIMEOUT", "REALNAME_READ_TIMEOUT"):
        _check_seconds(config, key, 30)
    retries = config["REALNAME_RETRIES"]
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
        raise ConfigError("IDP_REALNAME_RETRIES must be a whole number from 0 to 5")
    attempts = config["REALNAME_ATTEMPTS_PER_DAY"]
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ConfigError("IDP_REALNAME_ATTEMPTS_PER_DAY must be a whole number of at least 1")
    for url_key, secret_key in (("REALNAME_REGISTRY_URL", "REALNAME_REGISTRY_SECRET"),
                                ("REALNAME_FACE_URL", "REALNAME_FACE_SECRET"),
                                ("ENTERPRISE_REGISTRY_URL", "ENTERPRISE_REGISTRY_SECRET")):
        if config[url_key]:
            _check_signed_endpoint(config, url_key, secret_key)
    most = config["ENTERPRISE_MAX_ADMINISTRATORS"]
    if isinstance(most, bool) or not isinstance(most, int) or most < 1:
        raise ConfigError("IDP_ENTERPRISE_MAX_ADMINISTRATORS must be a whole number of at "
                          "least 1")


def _check_email(config):
    sender = _check_sender(config, "EMAIL", "smtp", "IDP_EMAIL_SMTP_HOST and IDP_EMAIL_FROM")
    _check_seconds(config, "EMAIL_SMTP_TIMEOUT", 60)
    if sender != "smtp":
        return
    host = config["EMAIL_SMTP_HOST"] or ""
    if not host or any(ch.isspace() or ch in "/@" for ch in host):
        raise ConfigError("IDP_EMAIL_SMTP_HOST must name the mail relay (a host name or address)")
    if not 0 < int(config["EMAIL_SMTP_PORT"]) < 65536:
        raise ConfigError("IDP_EMAIL_SMTP_PORT must be a TCP port (587 for STARTTLS, 465 for ssl)")
    security = config["EMAIL_SMTP_SECURITY"]
    if security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"IDP_EMAIL_SMTP_SECURITY must be starttls, ssl or none, not "
                          f"{security!r}")
    if security == "none" and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError("IDP_EMAIL_SMTP_SECURITY=none is allowed only for a relay on the "
                          "loopback interface; use starttls or ssl")
    if bool(config["EMAIL_SMTP_USERNAME"]) != bool(config["EMAIL_SMTP_PASSWORD"]):
        raise ConfigError("IDP_EMAIL_SMTP_USERNAME and IDP_EMAIL_SMTP_PASSWORD go together")
    from_address = (config["EMAIL_FROM"] or "").strip()
    _name, address = parseaddr(from_address)
    local, _at, domain = address.partition("@")
    if not local or "." not in domain or any(ch in from_address for ch in "\r\n"):
        raise ConfigError("IDP_EMAIL_FROM must be an email address, e.g. "
                          "'统一身份认证 <noreply@idp.gov.example>'")
