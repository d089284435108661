"""Development settings of a checkout, in its instance folder (``instance/``, git-ignored;
``IDP_INSTANCE_DIR`` moves it):

* ``dev.env``: development secrets, generated once (``python -m idp.devenv FILE`` creates the
  file or adds the variables a newer version needs, keeping the ones it has, so data sealed
  with them stays readable), and whatever ``IDP_*`` settings the developer adds;
* ``make-run.env``: what the last ``make run`` served with (``IDP_ENV=development``,
  ``IDP_PORT``, ``IDP_ISSUER`` and every other ``IDP_*`` variable it was given), rewritten by
  ``python -m idp.devenv --make-run``.

The ``idp`` command reads both (``load``), so commands typed in another terminal reach the
database and issuer the development server uses; the environment wins over the files, and
``make-run.env`` over ``dev.env``. They hold ``IDP_*`` settings only: a file that sets
anything else is refused. Only the ``idp`` command reads them: ``wsgi.py`` (gunicorn,
granian, ``make serve``) never does, and ``idp`` refuses to start with ``IDP_ENV=production``
while they exist. Production secrets come from the deployment."""

import base64
import os
import secrets
import sys
import tempfile

from dotenv import dotenv_values

from config import ConfigError
from idp import ROOT

SECRETS_FILE = "dev.env"
RUN_FILE = "make-run.env"


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


def instance_dir(environ=os.environ):
    """The instance folder: ``IDP_INSTANCE_DIR``, else ``instance/`` in the checkout."""
    return os.path.abspath(environ.get("IDP_INSTANCE_DIR") or os.path.join(ROOT, "instance"))


def main(path):
    """Write development values of the secrets ``path`` lacks."""
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


def _quoted(value):
    """A dotenv single-quoted value (python-dotenv unescapes ``\\\\`` and ``\\'``)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_run(environ=os.environ):
    """``make run``'s preparation: the secrets, then ``make-run.env`` with the settings the
    server is about to use. Returns them."""
    folder = instance_dir(environ)
    os.makedirs(folder, exist_ok=True)
    secrets_path = os.path.join(folder, SECRETS_FILE)
    main(secrets_path)
    port = environ.get("IDP_PORT") or "5000"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"IDP_PORT must be a TCP port number, not {port!r}")
    own = dotenv_values(secrets_path, interpolate=False)
    settings = {k: v for k, v in environ.items()
                if k.startswith("IDP_") and k != "IDP_INSTANCE_DIR"}
    settings.update(IDP_ENV="development", IDP_PORT=port)
    settings.setdefault("IDP_ISSUER", own.get("IDP_ISSUER") or f"http://127.0.0.1:{port}")
    lines = ["# What the last `make run` served with (rewritten by each). The idp command reads",
             "# this file and dev.env, so that it works on the same database and issuer from",
             "# any terminal; variables set in the environment win. Never used in production.",
             *(f"{k}={_quoted(v)}" for k, v in sorted(settings.items()))]
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".make-run-")  # created 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, os.path.join(folder, RUN_FILE))
    return settings


def load(environ=os.environ):
    """For the ``idp`` command: take the settings a development checkout keeps in its
    instance folder into ``environ`` (variables already set win). Returns the files read.
    With ``IDP_ENV=production`` their presence is an error: a production process must not
    run on development secrets or databases."""
    folder = instance_dir(environ)
    files = [path for path in (os.path.join(folder, RUN_FILE), os.path.join(folder, SECRETS_FILE))
             if os.path.isfile(path)]
    if not files:
        return []
    wanted = environ.get("IDP_ENV") or "development"
    if wanted == "production":
        raise ConfigError(
            f"IDP_ENV=production, but {files[0]} holds development settings, which a production "
            "process never reads: remove the development files (dev.env, make-run.env) from "
            f"{folder}, or set IDP_INSTANCE_DIR to the production instance folder")
    if wanted != "development":
        return []
    found = [(path, dotenv_values(path, interpolate=False)) for path in files]
    for path, values in found:
        others = [key for key in values if not key.startswith("IDP_")]
        if others:  # FLASK_DEBUG, FLASK_RUN_HOST, HTTPS_PROXY … are not ours to set
            raise ConfigError(f"{path} sets {', '.join(others)}: development files hold "
                              "IDP_* settings only, and the idp command takes nothing else "
                              "from them")
    for _path, values in found:  # make-run.env first: it wins over dev.env
        for key, value in values.items():
            if value is not None and key not in environ:
                environ[key] = value
    environ.setdefault("IDP_ENV", "development")
    if environ["IDP_ENV"] != "development":
        raise ConfigError(f"{files[0]} sets IDP_ENV={environ['IDP_ENV']}: development files "
                          "configure development only")
    return files


if __name__ == "__main__":
    try:
        if sys.argv[1:] == ["--make-run"]:
            make_run()
        else:
            main(sys.argv[1])
    except ConfigError as exc:
        sys.exit(f"configuration error: {exc}")
