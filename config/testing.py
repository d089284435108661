"""Testing: fixed throw-away secrets, fast password hashing, no rate limits unless a test
turns them on."""

TESTING = True
SECRET_KEY = "testing-secret-key-testing-secret-key-0123"
KEY_ENCRYPTION_KEY = "dGVzdGluZy1rZXktZW5jcnlwdGlvbi1rZXktMzItYnk="
PAIRWISE_SECRET = "testing-pairwise-secret-testing-pairwise-0"
PII_KEYS = ("t2:dGVzdGluZy1waWkta2V5LXR3by10d28tdHdvLXR3bzI=,"
            "t1:dGVzdGluZy1waWkta2V5LW9uZS1vbmUtb25lLW9uZTE=")
BLIND_INDEX_KEY = "testing-blind-index-key-testing-blind-index"
REALNAME_REGISTRY_SECRET = "testing-registry-secret-testing-registry-0"
REALNAME_FACE_SECRET = REALNAME_REGISTRY_SECRET
ARGON2_TIME_COST = 1
ARGON2_MEMORY_COST = 1024
RATELIMIT_ENABLED = False
WTF_CSRF_ENABLED = True
