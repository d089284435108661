"""Every configuration key, with its secure default. Environment variables (``IDP_*``, see
``config.ENV_KEYS``) override these; secrets have no default and must come from the
environment."""

# --- Identity of the provider -------------------------------------------------------------
#: The issuer identifier, exactly as relying parties will compare it (IDP_ISSUER).
ISSUER = "http://127.0.0.1:5000"
#: Port for ``idp run`` (IDP_PORT).
PORT = 5000
#: Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
TRUSTED_PROXY_HOPS = 0
#: Allow an http issuer on a non-loopback host (only for test hosts behind a TLS proxy).
ALLOW_INSECURE_HTTP = False

# --- State ----------------------------------------------------------------------------------
#: SQLAlchemy URL (IDP_DATABASE_URL); empty means SQLite under the instance folder.
SQLALCHEMY_DATABASE_URI = ""
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
#: Redis URL (IDP_REDIS_URL); empty means the in-process store (one process only).
REDIS_URL = ""
#: Redis socket timeouts in seconds (redis-py waits 5 s by default).
REDIS_SOCKET_TIMEOUT = 2.0
REDIS_CONNECT_TIMEOUT = 2.0
#: Number of worker processes the deployment runs (WEB_CONCURRENCY); > 1 needs Redis.
WORKERS = 1

# --- Secrets (environment only) --------------------------------------------------------------
#: Signs the browser cookies (CSRF, language) (IDP_SECRET_KEY, >= 32 characters).
SECRET_KEY = None
#: 32 bytes, base64: encrypts private signing keys at rest (IDP_KEY_ENCRYPTION_KEY).
KEY_ENCRYPTION_KEY = None
#: Keys the pairwise subject identifiers (IDP_PAIRWISE_SECRET); never change it once in use.
PAIRWISE_SECRET = None

#: Largest request body accepted (bytes); protocol requests are a few kilobytes.
MAX_CONTENT_LENGTH = 1024 * 1024

# --- Protocol -------------------------------------------------------------------------------
#: Lifetime of an authorization code (seconds; at most 60 recommended by OAuth 2.1 practice).
AUTHORIZATION_CODE_TTL = 60
#: Lifetime of JWT access tokens (seconds).
ACCESS_TOKEN_TTL = 900
#: Lifetime of ID tokens (seconds).
ID_TOKEN_TTL = 600
#: Absolute lifetime of a refresh token family (seconds).
REFRESH_TOKEN_TTL = 30 * 24 * 3600
#: How long a login or consent interaction may take (seconds).
INTERACTION_TTL = 600
#: Signing algorithms offered for ID tokens; the first is the default.
ID_TOKEN_SIGNING_ALGS = ["ES256", "RS256"]
#: Scopes this provider knows.
SCOPES_SUPPORTED = ["openid", "profile", "phone", "email", "offline_access"]
#: Clock skew accepted on client assertions (seconds).
CLIENT_ASSERTION_LEEWAY = 60
#: Cache lifetime of the JWKS and discovery documents in relying parties (seconds).
JWKS_MAX_AGE = 300
#: Timeout and size limit when fetching a client's jwks_uri.
JWKS_URI_TIMEOUT = 3.0
JWKS_URI_MAX_BYTES = 64 * 1024
#: Levels of assurance, as acr values, lowest first.
ACR_VALUES = [
    "urn:cn:gov:idp:loa:1",
    "urn:cn:gov:idp:loa:2",
    "urn:cn:gov:idp:loa:3",
    "urn:cn:gov:idp:loa:4",
]

# --- Browser session ------------------------------------------------------------------------
#: SSO session: absolute and idle lifetimes (seconds).
SSO_SESSION_TTL = 8 * 3600
SSO_SESSION_IDLE_TTL = 30 * 60
SSO_COOKIE_NAME = "idp_sso"
SESSION_COOKIE_NAME = "idp_csrf"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
#: Set from the issuer's scheme at start-up.
SESSION_COOKIE_SECURE = True
WTF_CSRF_TIME_LIMIT = 3600

# --- Passwords (argon2id; OWASP's login-service parameters) ----------------------------------
ARGON2_TIME_COST = 2
ARGON2_MEMORY_COST = 19 * 1024  # KiB
ARGON2_PARALLELISM = 1

# --- Rate limits (Flask-Limiter, on the shared store) ---------------------------------------
#: Login attempts per client address (IDP_RATELIMIT_LOGIN). Offices and carrier NAT put many
#: citizens behind one address, so this is a flood guard; per-account limits stop guessing.
#: The token endpoint is not limited per address: platforms call it from a few servers.
RATELIMIT_LOGIN = "30 per minute"
RATELIMIT_HEADERS_ENABLED = True

# --- Languages ------------------------------------------------------------------------------
BABEL_DEFAULT_LOCALE = "zh_CN"
LANGUAGES = ["zh_CN", "en"]
