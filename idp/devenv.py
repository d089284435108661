"""Development secrets for ``make run``, kept in ``instance/dev.env`` (which git ignores):
``python -m idp.devenv instance/dev.env`` creates the file or adds the variables a newer
version needs, keeping the ones it has (their data stays readable). Production secrets come
from the deployment."""

import base64
import os
import secrets
import sys


def _key():
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


GENERATORS = {
    "IDP_SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "IDP_KEY_ENCRYPTION_KEY": _key,
    "IDP_PAIRWISE_SECRET": lambda: secrets.token_urlsafe(48),
    "IDP_PII_KEYS": lambda: f"dev1:{_key()}",
    "IDP_BLIND_INDEX_KEY": lambda: secrets.token_urlsafe(48),
    "IDP_REALNAME_REGISTRY_SECRET": lambda: secrets.token_urlsafe(48),
}


def main(path):
    present = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            present = {line.split("=", 1)[0].strip() for line in fh if "=" in line}
    missing = [name for name in GENERATORS if name not in present]
    if not missing:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        for name in missing:
            fh.write(f"{name}={GENERATORS[name]()}\n")


if __name__ == "__main__":
    main(sys.argv[1])
