"""Testing: fixed throw-away secrets, fast password hashing, no rate limits unless a test
turns them on."""

TESTING = True
SECRET_KEY = "testing-secret-key-testing-secret-key-0123"
KEY_ENCRYPTION_KEY = "dGVzdGluZy1rZXktZW5jcnlwdGlvbi1rZXktMzItYnk="
PAIRWISE_SECRET = "testing-pairwise-secret-testing-pairwise-0"
ARGON2_TIME_COST = 1
ARGON2_MEMORY_COST = 1024
RATELIMIT_ENABLED = False
WTF_CSRF_ENABLED = True
