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
#: Let production run on a SQLite file (IDP_ALLOW_SQLITE): a single-node deployment only, one
#: machine with the file on its local disk. Production refuses SQLite without it.
ALLOW_SQLITE = False
#: Redis URL (IDP_REDIS_URL); empty means the in-process store (one process only).
REDIS_URL = ""
#: Prefix of every key this deployment writes to Redis (several deployments may share one).
REDIS_PREFIX = "idp:"
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
#: Keys sealing identity data (names, document numbers) at rest (IDP_PII_KEYS): one or more
#: ``kid:base64-32-bytes`` separated by commas, the first sealing new data, the others only
#: opening older data until ``idp realname reencrypt`` has moved it to the first.
PII_KEYS = None
#: Keys the blind index of identity documents (IDP_BLIND_INDEX_KEY, >= 32 characters). It
#: cannot change once documents are bound: the index is what keeps one person to one account.
BLIND_INDEX_KEY = None

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
SCOPES_SUPPORTED = ["openid", "profile", "phone", "email", "offline_access", "id_number",
                    "admin",  # admin: the admin API (/admin/api), with a staff or client role
                    "enterprise"]  # enterprise: who the person acts for (idp/enterprise)
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

# --- Logout (idp/logout: RP-initiated, back-channel and front-channel logout) ---------------
#: Lifetime of a logout token (seconds). Every delivery attempt signs a new one (new ``jti``,
#: ``iat`` now), so a platform that checks ``iat`` (mod_auth_openidc: within 10 minutes)
#: accepts a logout delivered late.
LOGOUT_TOKEN_TTL = 120
#: How long a platform that does not answer keeps getting its logout (seconds, from the
#: logout; the SSO session's lifetime by default): then the delivery is given up.
LOGOUT_DELIVERY_WINDOW = 8 * 3600
#: How long finished deliveries (delivered, refused, failed) stay for administrators to read
#: (seconds, from the logout); then the worker forgets them (``idp logout forget``).
LOGOUT_RECORD_RETENTION = 30 * 86400
#: Waiting between attempts: the first retry after this many seconds, then twice as long each
#: time, at most ``LOGOUT_RETRY_MAX`` seconds.
LOGOUT_RETRY_BASE = 10
LOGOUT_RETRY_MAX = 900
#: Back-channel call timeouts (seconds): the connection (TLS included) and each read
#: (IDP_LOGOUT_CONNECT_TIMEOUT, IDP_LOGOUT_READ_TIMEOUT).
LOGOUT_CONNECT_TIMEOUT = 2.0
LOGOUT_READ_TIMEOUT = 5.0
#: Platforms called at once by one delivery pass, and deliveries one pass takes on.
LOGOUT_PARALLEL = 8
LOGOUT_BATCH = 100
#: Seconds between the passes of ``idp logout worker`` (and of the development thread).
LOGOUT_WORKER_INTERVAL = 5
#: Run the delivery worker in a thread of the web process (development: ``make run``).
#: Production runs ``idp logout worker`` beside the web processes instead.
LOGOUT_WORKER_THREAD = False

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

# --- Brute-force defences (per identifier in the shared store, per account in the database) ---
#: Failures of one identifier after which each attempt must wait 2, 4, 8 … seconds.
LOGIN_THROTTLE_AFTER = 3
#: Consecutive failures that lock an account, and for how long (seconds).
LOCKOUT_THRESHOLD = 10
LOCKOUT_SECONDS = 30 * 60
#: Consecutive wrong second-factor answers (any factor, across logins and client addresses)
#: that lock an account for ``LOCKOUT_SECONDS``. NIST SP 800-63B 5.2.2 allows at most 100; ten
#: keeps guessing a 6-digit code (three valid a try with a ±1 step window) under 0.2 % a day.
FACTOR_LOCKOUT_THRESHOLD = 10

# --- Languages ------------------------------------------------------------------------------
BABEL_DEFAULT_LOCALE = "zh_CN"
#: Times on pages are shown in China Standard Time.
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
LANGUAGES = ["zh_CN", "en"]

# --- SMS (one-time codes; mfa/sms.py) -------------------------------------------------------
#: Who delivers text messages (IDP_SMS_SENDER): "outbox" keeps them in the shared store for
#: developers (/dev/sms-outbox, `idp sms outbox`); "http" posts them to the operator's gateway.
#: Production refuses to start with anything but "http".
SMS_SENDER = "outbox"
#: The gateway's endpoint (IDP_SMS_GATEWAY_URL; https in production) and the secret that signs
#: each request body as `X-Signature: sha256=<hex HMAC-SHA256>` (IDP_SMS_GATEWAY_SECRET,
#: environment only, >= 32 characters).
SMS_GATEWAY_URL = ""
SMS_GATEWAY_SECRET = None
#: Gateway timeouts in seconds (IDP_SMS_GATEWAY_CONNECT_TIMEOUT, IDP_SMS_GATEWAY_READ_TIMEOUT).
#: One attempt per message: a slow gateway costs a person one wait, never a retry storm.
SMS_GATEWAY_CONNECT_TIMEOUT = 2.0
SMS_GATEWAY_READ_TIMEOUT = 5.0
#: Lifetime of a code (seconds) and wrong tries before it is dead.
SMS_CODE_TTL = 300
SMS_CODE_MAX_ATTEMPTS = 5
#: Sending limits: seconds between two codes to one number, codes per number per hour, codes
#: per client address per hour (IDP_SMS_IP_PER_HOUR; carrier NAT puts many people behind one).
SMS_PHONE_INTERVAL = 60
SMS_PHONE_PER_HOUR = 5
SMS_IP_PER_HOUR = 20
#: Development outbox: messages kept and for how long (seconds).
SMS_OUTBOX_SIZE = 50
SMS_OUTBOX_TTL = 3600
#: Region assumed for phone numbers written without a country code.
SMS_DEFAULT_REGION = "CN"

# --- Email (optional confirmed address; one-time codes; mfa/email.py) ------------------------
#: Who delivers email (IDP_EMAIL_SENDER): "outbox" keeps messages in the shared store for
#: developers (/dev/email-outbox, `idp email outbox`); "smtp" hands them to the operator's mail
#: relay. Production refuses to start with anything but "smtp".
EMAIL_SENDER = "outbox"
#: The From header of every message (IDP_EMAIL_FROM), e.g. "统一身份认证 <noreply@idp.gov.example>".
EMAIL_FROM = ""
#: The relay (IDP_EMAIL_SMTP_HOST, IDP_EMAIL_SMTP_PORT) and how to reach it
#: (IDP_EMAIL_SMTP_SECURITY): "starttls" (port 587; a relay that does not offer STARTTLS is an
#: error), "ssl" (implicit TLS, port 465) or "none" (only to a relay on the loopback interface).
EMAIL_SMTP_HOST = ""
EMAIL_SMTP_PORT = 587
EMAIL_SMTP_SECURITY = "starttls"
#: Relay login, if it wants one (IDP_EMAIL_SMTP_USERNAME; IDP_EMAIL_SMTP_PASSWORD, environment
#: only). Never sent without TLS to anything but the loopback interface.
EMAIL_SMTP_USERNAME = ""
EMAIL_SMTP_PASSWORD = None
#: Seconds for the whole SMTP conversation of one message (IDP_EMAIL_SMTP_TIMEOUT). One
#: attempt per message: a slow relay costs a person one wait, never a retry storm.
EMAIL_SMTP_TIMEOUT = 10.0
#: Lifetime of a code (seconds; mail is slower than text messages) and wrong tries before it
#: is dead.
EMAIL_CODE_TTL = 600
EMAIL_CODE_MAX_ATTEMPTS = 5
#: Sending limits: seconds between two codes to one address, codes per address per hour, codes
#: per client address per hour (IDP_EMAIL_IP_PER_HOUR).
EMAIL_ADDRESS_INTERVAL = 60
EMAIL_ADDRESS_PER_HOUR = 5
EMAIL_IP_PER_HOUR = 20
#: Development outbox: messages kept and for how long (seconds).
EMAIL_OUTBOX_SIZE = 50
EMAIL_OUTBOX_TTL = 3600

# --- Relying parties (clients/) -------------------------------------------------------------
#: After a secret rotation the previous secret keeps working this long (seconds).
CLIENT_SECRET_ROTATION_OVERLAP = 86400
#: Lifetime of a new client secret (seconds; 0: no expiry, RFC 7591 client_secret_expires_at).
CLIENT_SECRET_LIFETIME = 0
#: Dynamic registrations one initial access token may make per hour.
CLIENT_REGISTRATION_PER_TOKEN_PER_HOUR = 30

# --- Real-name verification (idp/realname) -------------------------------------------------
#: The authoritative registry that matches name + document number (IDP_REALNAME_REGISTRY_URL;
#: https in production), the client id it knows us by and the secret that signs requests and
#: its answers (IDP_REALNAME_REGISTRY_CLIENT_ID, IDP_REALNAME_REGISTRY_SECRET). Empty: no
#: online verification (levels 2 and 3 only at a service counter).
REALNAME_REGISTRY_URL = ""
REALNAME_REGISTRY_CLIENT_ID = "gov-idp"
REALNAME_REGISTRY_SECRET = None
#: The face verification (liveness + match) service and its signing secret
#: (IDP_REALNAME_FACE_URL, IDP_REALNAME_FACE_SECRET). Empty: no level 3 online.
REALNAME_FACE_URL = ""
REALNAME_FACE_SECRET = None
#: Timeouts (seconds) and retries of one verification call (IDP_REALNAME_CONNECT_TIMEOUT,
#: IDP_REALNAME_READ_TIMEOUT, IDP_REALNAME_RETRIES); retries only after a failed transport or a
#: 5xx answer, never after a definite one.
REALNAME_CONNECT_TIMEOUT = 2.0
REALNAME_READ_TIMEOUT = 5.0
REALNAME_RETRIES = 2
#: Verification attempts with a definite answer allowed per account per day.
REALNAME_ATTEMPTS_PER_DAY = 5
#: Mount the development registry and face service at /dev/registry and use it when no
#: registry URL is set (development and testing only; refused in production).
DEV_REGISTRY_MOUNT = False
#: Its synthetic people (IDP_DEV_REGISTRY_PEOPLE: a CSV path; empty: the shipped file) and its
#: face check (IDP_DEV_REGISTRY_FACE_OUTCOME: ask = Pass / Fail buttons, pass, fail).
DEV_REGISTRY_PEOPLE = ""
DEV_REGISTRY_FACE_OUTCOME = "ask"

# --- Enterprises (idp/enterprise) -----------------------------------------------------------
#: The legal-person registry that confirms an enterprise's legal representative
#: (IDP_ENTERPRISE_REGISTRY_URL; https in production), the client id it knows us by and the
#: secret signing both directions (IDP_ENTERPRISE_REGISTRY_CLIENT_ID,
#: IDP_ENTERPRISE_REGISTRY_SECRET). Timeouts and retries are the real-name services'. Empty:
#: enterprises only by an operator (`idp enterprises create`). With DEV_REGISTRY_MOUNT and no
#: URL, the development registry at /dev/registry (its companies: IDP_DEV_REGISTRY_COMPANIES,
#: a CSV path; empty: the shipped synthetic file).
ENTERPRISE_REGISTRY_URL = ""
ENTERPRISE_REGISTRY_CLIENT_ID = "gov-idp"
ENTERPRISE_REGISTRY_SECRET = None
DEV_REGISTRY_COMPANIES = ""
#: Administrators an enterprise may have at once (invitations included)
#: (IDP_ENTERPRISE_MAX_ADMINISTRATORS).
ENTERPRISE_MAX_ADMINISTRATORS = 5
