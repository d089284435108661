"""Interoperability: third-party relying parties against a live provider.

* ``rp.mjs`` drives panva's ``openid-client`` (npm, v6) through a browser-like login, the code
  grant with PKCE, userinfo, refresh, introspection, revocation and ``prompt=none``.
* The tokens it obtained are then verified here with ``python-jose``, the way a typical Python
  resource server / platform would (JWKS from discovery, key chosen by ``kid``, pinned ES256).

The provider is started as a real subprocess (``idp run``) on a free loopback port.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jose import JWTError
from jose import jwk
from jose import jwt

from idp import devenv
from tests.conftest import scratch_database

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the openid-client interop test needs Node.js >= 20"
)

PASSWORD = "S3cure-Passw0rd!"
SCOPE = "openid profile phone"
CREDIT_CODE = "911101080000000194"  # synthetic: built by the GB 32100 rule
STARTUP_TIMEOUT = 60.0
RP_TIMEOUT = 180.0


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_json(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read().decode())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _parse_json_output(stdout: str) -> dict[str, Any]:
    """CLI/RP output: the whole stdout is JSON, or else its last line that is a JSON object."""
    text = stdout.strip()
    try:
        value = json.loads(text)
        if isinstance(value, dict):
            return value
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise AssertionError(f"no JSON object in output:\n{stdout}")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Provider:
    """A provider process plus the data seeded into it."""

    def __init__(self, workdir: Path, database_url: str | None) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.redirect_uri = f"http://127.0.0.1:{_free_port()}/cb"
        self.idp = Path(sys.executable).with_name("idp")
        self.env = self._environment()
        self.log_path = workdir / "idp-server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.phone = ""
        self.user: dict[str, Any] = {}
        self.client: dict[str, Any] = {}
        self.enterprise: dict[str, Any] = {}
        self.discovery: dict[str, Any] = {}

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IDP_", "FLASK_"))}
        env.update(
            IDP_ENV="development",
            # an instance folder of its own: never the checkout's development settings
            IDP_INSTANCE_DIR=str(self.workdir),
            IDP_ISSUER=self.issuer,
            IDP_DATABASE_URL=self.database_url or f"sqlite:///{self.workdir / 'idp.db'}",
            PYTHONUNBUFFERED="1",
        )
        env.update({name: make() for name, make in devenv.GENERATORS.items()})
        if os.environ.get("IDP_TEST_REDIS_URL"):
            env["IDP_REDIS_URL"] = os.environ["IDP_TEST_REDIS_URL"]
        return env

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.idp), *args]
        proc = subprocess.run(
            cmd, env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            pytest.fail(
                f"`idp {' '.join(args)}` exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
                pytrace=False,
            )
        return proc

    def seed(self) -> None:
        # Unique per run: with IDP_TEST_DATABASE_URL the database is shared and not empty.
        self.phone = "+86138" + "".join(secrets.choice(string.digits) for _ in range(8))
        run_id = secrets.token_hex(4)
        self.cli("db", "upgrade")
        self.cli("keys", "rotate")
        self.user = _parse_json_output(
            self.cli(
                "users",
                "create",
                "--phone",
                self.phone,
                "--password",
                PASSWORD,
                "--name",
                "张三",
                "--json",
            ).stdout
        )
        assert self.user.get("id"), f"`idp users create --json` printed no id: {self.user}"
        self.client = _parse_json_output(
            self.cli(
                "clients",
                "create",
                "--name",
                f"interop-{run_id}",
                "--redirect-uri",
                self.redirect_uri,
                "--grant-type",
                "authorization_code",
                "--grant-type",
                "refresh_token",
                "--scope",
                SCOPE + " enterprise",
                "--json",
            ).stdout
        )
        for key in ("client_id", "client_secret"):
            assert self.client.get(key), (
                f"`idp clients create --json` printed no {key}: {self.client}"
            )
        self.enterprise = _parse_json_output(
            self.cli(
                "enterprises",
                "create",
                "--credit-code",
                CREDIT_CODE,
                "--name",
                "示例科技有限公司",
                "--legal-representative-phone",
                self.phone,
                "--json",
            ).stdout
        )

    def start(self) -> None:
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [str(self.idp), "run", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: a reloader child dies with it
        )
        log.close()
        url = f"{self.issuer}/.well-known/openid-configuration"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last: object = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(
                    f"`idp run` exited with {self.proc.returncode} before serving:\n{self.log()}",
                    pytrace=False,
                )
            try:
                status, body = _http_json(url, timeout=2)
                if status == 200 and isinstance(body, dict):
                    self.discovery = body
                    return
                last = (status, str(body)[:500])
            except (OSError, ValueError) as exc:
                last = exc
            time.sleep(0.25)
        pytest.fail(
            f"provider not ready at {url} after {STARTUP_TIMEOUT}s (last: {last!r})\n{self.log()}",
            pytrace=False,
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session=True: the pgid is the child's pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def log(self, limit: int = 8000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-limit:]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def node_modules() -> Path:
    modules = HERE / "node_modules"
    if not (modules / "openid-client" / "package.json").is_file():
        if NPM is None:
            pytest.fail("tests/interop/node_modules is missing and npm is not installed")
        proc = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"`npm ci` failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
                pytrace=False,
            )
    return modules


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    workdir = tmp_path_factory.mktemp("idp-interop")
    with contextlib.ExitStack() as stack:
        database_url = None
        if os.environ.get("IDP_TEST_DATABASE_URL"):
            database_url = stack.enter_context(scratch_database())
        prov = Provider(workdir, database_url)
        if not prov.idp.exists():
            pytest.fail(f"provider console script not found at {prov.idp}", pytrace=False)
        prov.seed()
        try:
            prov.start()
            yield prov
        finally:
            prov.stop()


@pytest.fixture(scope="module")
def rp_result(provider: Provider, node_modules: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "ISSUER": provider.issuer,
        "CLIENT_ID": provider.client["client_id"],
        "CLIENT_SECRET": provider.client["client_secret"],
        "REDIRECT_URI": provider.redirect_uri,
        "USERNAME": provider.phone,
        "PASSWORD": PASSWORD,
        "CREDIT_CODE": CREDIT_CODE,
    }
    proc = subprocess.run(
        [str(NODE), str(HERE / "rp.mjs")],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=RP_TIMEOUT,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"openid-client RP failed (exit {proc.returncode}):\n{proc.stderr.strip()}\n"
            f"stdout: {proc.stdout.strip()[:2000]}\n--- provider log (tail) ---\n"
            f"{provider.log(4000)}",
            pytrace=False,
        )
    result = _parse_json_output(proc.stdout)
    assert result.get("ok") is True, result
    return result


@pytest.fixture(scope="module")
def jwks(provider: Provider) -> dict[str, Any]:
    jwks_uri = provider.discovery.get("jwks_uri")
    assert jwks_uri, f"discovery has no jwks_uri: {provider.discovery}"
    status, body = _http_json(jwks_uri)
    assert status == 200, f"GET {jwks_uri} -> {status}: {body}"
    assert isinstance(body, dict) and body.get("keys"), f"empty JWKS: {body}"
    return body


def _key_for(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    kid = header.get("kid")
    assert kid, f"token header has no kid: {header}"
    matches = [k for k in jwks["keys"] if k.get("kid") == kid]
    assert len(matches) == 1, f"kid {kid!r} matches {len(matches)} keys in the JWKS"
    key = matches[0]
    assert key.get("kty") == "EC" and key.get("crv") == "P-256", key
    assert "d" not in key, "JWKS leaks a private key component"
    return key


# --------------------------------------------------------------------------- tests


def test_openid_client_flow(rp_result: dict[str, Any], provider: Provider) -> None:
    """openid-client completed login, code+PKCE, userinfo, refresh, introspection, revocation
    and prompt=none; the details are asserted inside rp.mjs."""
    assert rp_result["sub"]
    aud = rp_result["id_token_claims"]["aud"]
    assert provider.client["client_id"] in (aud if isinstance(aud, list) else [aud])
    assert rp_result["userinfo"]["sub"] == rp_result["sub"]
    assert rp_result["introspection"]["client_id"] == provider.client["client_id"]


def test_openid_client_acts_for_an_enterprise(rp_result: dict[str, Any], provider: Provider):
    """The chooser offered oneself and the enterprise; the ID token, userinfo and the token
    response carry it; a silent request for one matter got exactly that matter."""
    found = rp_result["enterprise"]
    code = provider.enterprise["credit_code"]
    assert found["choices"] == ["self", code]
    assert found["id_token_enterprise"] == found["userinfo_enterprise"] == {
        "credit_code": code, "name": "示例科技有限公司", "entity_type": "enterprise",
        "status": "operating", "role": "legal_representative"}
    assert found["id_token_act"] == {"sub": rp_result["sub"]}
    granted = {"type": "cn_gov_enterprise_matters", "credit_code": code,
               "role": "legal_representative"}
    assert found["authorization_details"] == [{**granted, "matters": ["*"]}]
    assert found["silent_authorization_details"] == [{**granted, "matters": ["tax.declare"]}]


def test_openid_client_default_auth_method_is_told_the_registered_one(
    rp_result: dict[str, Any],
) -> None:
    """openid-client 6 sends client_secret_post unless told otherwise; the client is registered
    with the default, client_secret_basic."""
    assert rp_result["wrong_method"] == {
        "status": 401,
        "error": "invalid_client",
        "error_description": "This client is registered for client_secret_basic (HTTP Basic) "
        "but sent client_secret_post (client_secret in the request body).",
    }


def test_discovery_document(provider: Provider) -> None:
    doc = provider.discovery
    assert doc["issuer"] == provider.issuer
    assert "ES256" in doc.get("id_token_signing_alg_values_supported", []), doc
    assert "S256" in doc.get("code_challenge_methods_supported", []), doc


@pytest.mark.parametrize("which", ["id_token", "refreshed_id_token"])
def test_id_token_verifies_with_python_jose(
    which: str, rp_result: dict[str, Any], jwks: dict[str, Any], provider: Provider
) -> None:
    token = rp_result[which]
    access_token = rp_result["access_token" if which == "id_token" else "refreshed_access_token"]
    header = jwt.get_unverified_header(token)
    assert header.get("alg") == "ES256", header
    claims = jwt.decode(
        token,
        _key_for(token, jwks),
        algorithms=["ES256"],
        audience=provider.client["client_id"],
        issuer=provider.issuer,
        access_token=access_token,  # at_hash, if present, must match
        options={
            "require_aud": True,
            "require_exp": True,
            "require_iat": True,
            "require_sub": True,
        },
    )
    assert claims["sub"] == rp_result["sub"]
    assert isinstance(claims["auth_time"], int)
    assert claims["auth_time"] == rp_result["id_token_claims"]["auth_time"]
    if which == "id_token" or "sid" in claims:
        assert claims.get("sid") == rp_result["id_token_claims"]["sid"]


@pytest.mark.parametrize("which", ["access_token", "refreshed_access_token"])
def test_access_token_is_rfc9068_jwt(
    which: str, rp_result: dict[str, Any], jwks: dict[str, Any], provider: Provider
) -> None:
    token = rp_result[which]
    client_id = provider.client["client_id"]
    header = jwt.get_unverified_header(token)
    assert header.get("alg") == "ES256", header
    # RFC 9068 §2.1 uses "at+jwt"; §4 lets resource servers also accept "application/at+jwt".
    assert str(header.get("typ", "")).lower() in ("at+jwt", "application/at+jwt"), header

    # Learn `aud` without trusting it, check it is one we accept, then verify for real.
    unverified = jwt.get_unverified_claims(token)
    aud = unverified.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    acceptable = {client_id, provider.issuer, provider.issuer + "/"}
    for key in ("resource", "resource_identifier"):
        if isinstance(provider.discovery.get(key), str):
            acceptable.add(provider.discovery[key])
    assert auds and any(a in acceptable for a in auds), (
        f"access token aud {aud!r} is neither the client id nor the issuer's resource"
    )
    audience = next(a for a in auds if a in acceptable)

    claims = jwt.decode(
        token,
        _key_for(token, jwks),
        algorithms=["ES256"],
        audience=audience,
        issuer=provider.issuer,
        options={
            "require_aud": True,
            "require_exp": True,
            "require_iat": True,
            "require_sub": True,
            "require_jti": True,
            "verify_at_hash": False,
        },
    )
    assert claims["iss"] == provider.issuer
    assert claims["client_id"] == client_id
    assert claims["sub"] == rp_result["sub"]
    assert claims["jti"]
    assert isinstance(claims["scope"], str), claims
    assert set(SCOPE.split()) <= set(claims["scope"].split()), claims["scope"]


def test_forged_hs256_token_is_rejected(
    rp_result: dict[str, Any], jwks: dict[str, Any], provider: Provider
) -> None:
    """Algorithm confusion: an HS256 token keyed with the public key must not verify."""
    genuine = rp_result["id_token"]
    key = _key_for(genuine, jwks)
    pem = jwk.construct(key, algorithm="ES256").public_key().to_pem()
    if isinstance(pem, str):
        pem = pem.encode()

    claims = dict(jwt.get_unverified_claims(genuine))
    claims["sub"] = "attacker"
    claims["exp"] = int(time.time()) + 3600
    header = {"alg": "HS256", "typ": "JWT", "kid": key["kid"]}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    forged = f"{signing_input}.{_b64url(signature)}"

    for verification_key in (key, pem.decode()):
        with pytest.raises(JWTError):
            jwt.decode(
                forged,
                verification_key,
                algorithms=["ES256"],
                audience=provider.client["client_id"],
                issuer=provider.issuer,
                options={"require_aud": True, "require_exp": True, "verify_at_hash": False},
            )

    # Sanity: the genuine token still verifies with the very same settings.
    jwt.decode(
        genuine,
        key,
        algorithms=["ES256"],
        audience=provider.client["client_id"],
        issuer=provider.issuer,
        options={"require_aud": True, "require_exp": True, "verify_at_hash": False},
    )
