"""Identity verification adapters against the development registry and face service over real
HTTP (a werkzeug server on a loopback port), and the signatures of ``idp.signed_http``."""

import json
import logging
import re
import socket
import time
from urllib.parse import parse_qs
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner

from idp.realname import devregistry
from idp.realname.devregistry import create_registry_app
from idp.realname.devregistry import dev_registry_command
from idp.realname.devregistry import load_people
from idp.realname.verifiers import FaceCheckIncomplete
from idp.realname.verifiers import HttpFaceVerifier
from idp.realname.verifiers import HttpRegistryVerifier
from idp.realname.verifiers import PersonClaim
from idp.realname.verifiers import VerificationResult
from idp.realname.verifiers import VerificationUnavailable
from idp.realname.verifiers import face_verifier
from idp.realname.verifiers import registry_verifier
from idp.signed_http import SignedHttpClient
from idp.signed_http import SignedHttpError
from idp.signed_http import check_signature
from idp.signed_http import signature
from idp.signed_http import signed_headers
from idp.signed_http import verify_signature
from tests.conftest import make_app

pytest_plugins = ["tests.realname_fixtures"]

ZHANG = PersonClaim("张三", "resident_id", "11010119800101031X")
PERMIT = PersonClaim("陈大文", "hmt_residence_permit", "810000198208080351")
MINORITY = PersonClaim("阿依古丽 • 测试", "resident_id", "65010219930711082X")
# a valid number nobody in the development registry has
NOBODY = PersonClaim("张三", "resident_id", "110101199001010015")
RETURN = "http://127.0.0.1:9/realname/face/done?step=2"


def registry(reg, **kwargs):
    options = {"retries": 0, "read_timeout": 2.0, "backoff": 0.01, **kwargs}
    secret = options.pop("secret", reg.secret)
    return HttpRegistryVerifier(reg.url, "gov-idp", secret, **options)


def face(reg, **kwargs):
    options = {"retries": 0, "read_timeout": 2.0, "backoff": 0.01, **kwargs}
    return HttpFaceVerifier(reg.url, "gov-idp", reg.secret, **options)


def closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there any more
    return f"http://127.0.0.1:{port}"


# --- registry match -----------------------------------------------------------------------

def test_a_registered_person_matches(dev_registry):
    result = registry(dev_registry).verify(ZHANG)
    assert result.outcome == "match" and result.matched
    assert result.source == "registry"
    assert re.fullmatch(r"dev-[0-9a-f]{32}", result.reference)
    assert result.detail["attempts"] == 1
    assert re.fullmatch(r"[0-9a-f]{32}", result.detail["request_id"])
    recorded = json.dumps(result.detail, ensure_ascii=False)
    assert "张三" not in recorded and ZHANG.number not in recorded
    assert "张三" not in repr(ZHANG) and ZHANG.number not in repr(ZHANG)


def test_the_residence_permit_holder_and_a_minority_name_match(dev_registry):
    verifier = registry(dev_registry)
    assert verifier.verify(PERMIT).outcome == "match"
    # spaces and another middle-dot character are the same name
    assert verifier.verify(MINORITY).outcome == "match"


def test_every_shipped_person_matches(dev_registry):
    verifier = registry(dev_registry)
    people = dev_registry.people
    assert len(people) >= 20
    assert {p["doc_type"] for p in people} == {"resident_id", "hmt_residence_permit"}
    for p in people:
        assert verifier.verify(PersonClaim(p["name"], p["doc_type"], p["number"])).matched


def test_a_wrong_name_is_a_mismatch(dev_registry):
    result = registry(dev_registry).verify(PersonClaim("李四", "resident_id", ZHANG.number))
    assert result.outcome == "mismatch" and not result.matched
    assert result.reference.startswith("dev-")


def test_an_unknown_number_is_not_found(dev_registry):
    assert registry(dev_registry).verify(NOBODY).outcome == "not_found"
    # the same number under another document type is another document
    other = PersonClaim("张三", "hmt_residence_permit", ZHANG.number)
    assert registry(dev_registry).verify(other).outcome == "not_found"


# --- unavailable: never a result, retried only when it may help ---------------------------

def test_a_wrong_secret_is_unavailable_and_not_retried(dev_registry):
    verifier = registry(dev_registry, secret="not-the-registry-secret-0123456789", retries=2)
    with pytest.raises(VerificationUnavailable, match="answered 401"):
        verifier.verify(ZHANG)
    assert dev_registry.faults.calls == 1


def test_a_slow_service_times_out_after_bounded_retries(dev_registry):
    dev_registry.faults.delay = 1.0
    verifier = registry(dev_registry, read_timeout=0.25, retries=1)
    started = time.monotonic()
    with pytest.raises(VerificationUnavailable, match="did not answer in time") as caught:
        verifier.verify(ZHANG)
    assert time.monotonic() - started < 0.9
    assert dev_registry.faults.calls == 2
    assert re.fullmatch(r"[0-9a-f]{32}", caught.value.request_id)


def test_a_service_that_is_down_is_unavailable():
    verifier = HttpRegistryVerifier(closed_port_url(), "gov-idp", "s" * 40,
                                    connect_timeout=0.5, retries=2, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(VerificationUnavailable, match=r"unreachable \(ConnectionRefusedError\)"):
        verifier.verify(ZHANG)
    assert time.monotonic() - started < 1.0


def test_a_5xx_is_retried_and_then_succeeds(dev_registry):
    dev_registry.faults.fail_next = 2
    result = registry(dev_registry, retries=2, backoff=0.05).verify(ZHANG)
    assert result.matched
    assert result.detail["attempts"] == 3
    assert dev_registry.faults.calls == 3


def test_retries_are_bounded(dev_registry):
    dev_registry.faults.fail_next = 10
    started = time.monotonic()
    with pytest.raises(VerificationUnavailable, match="answered 503"):
        registry(dev_registry, retries=2, backoff=0.05).verify(ZHANG)
    assert dev_registry.faults.calls == 3  # one attempt and two retries, no more
    assert time.monotonic() - started < 0.5  # back-off 0.05 + 0.1


def test_a_4xx_is_definite_and_not_retried(dev_registry):
    dev_registry.faults.fail_next, dev_registry.faults.fail_status = 1, 429
    with pytest.raises(VerificationUnavailable, match="answered 429"):
        registry(dev_registry, retries=2).verify(ZHANG)
    assert dev_registry.faults.calls == 1


@pytest.mark.parametrize("mode, reason", [
    ("unsigned", "no X-Signature header"),
    ("forged", "X-Signature does not match"),
    ("tampered", "X-Signature does not match"),
    ("stale", "clock skew"),
])
def test_an_answer_without_a_good_signature_is_unavailable(dev_registry, mode, reason):
    dev_registry.faults.answer = mode
    with pytest.raises(VerificationUnavailable, match=reason):
        registry(dev_registry, retries=2).verify(NOBODY)
    assert dev_registry.faults.calls == 1  # a bad signature is not retried


def test_a_replayed_answer_is_unavailable(dev_registry):
    verifier = registry(dev_registry)
    assert verifier.verify(ZHANG).matched
    dev_registry.faults.answer = "replay"  # the signed "match" again, for somebody else
    with pytest.raises(VerificationUnavailable, match="for another request"):
        verifier.verify(NOBODY)


def test_an_unknown_result_is_unavailable(dev_registry):
    original = devregistry._lookup
    devregistry._lookup = lambda *a: "maybe"
    try:
        with pytest.raises(VerificationUnavailable, match="malformed answer"):
            registry(dev_registry).verify(ZHANG)
    finally:
        devregistry._lookup = original


def test_the_service_refuses_unsigned_and_inconsistent_requests(dev_registry):
    url = dev_registry.url + "/v1/identity/verify"
    body = json.dumps({"name": "张三", "document_type": "resident_id",
                       "document_number": ZHANG.number, "request_id": "a" * 32}).encode()
    unsigned = requests.post(url, data=body, headers={"Content-Type": "application/json"},
                             timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["error"] == "invalid_signature"
    headers = signed_headers(dev_registry.secret, body, "b" * 32)
    other_id = requests.post(url, data=body, headers=headers, timeout=5)
    assert other_id.status_code == 400 and other_id.json()["error"] == "request_id_mismatch"
    headers = signed_headers(dev_registry.secret, body, "a" * 32)
    good = requests.post(url, data=body, headers=headers, timeout=5)
    assert good.status_code == 200 and good.json()["result"] == "match"
    assert verify_signature(dev_registry.secret, good.content, good.headers)
    assert good.json()["request_id"] == "a" * 32


# --- face: liveness + match through the development page ----------------------------------

def through_the_page(session, button):
    """The browser's part: open the page, press ``button``; the redirect's target."""
    browser = requests.Session()
    page = browser.get(session.url, timeout=5)
    assert page.status_code == 200
    assert "DEVELOPMENT face check" in page.text and "开发用人脸核验" in page.text
    assert "not a real one" in page.text
    action = re.search(r'<form method="post" action="([^"]+)">', page.text).group(1)
    values = re.findall(r'<button type="submit" name="outcome" value="(\w+)">', page.text)
    assert values == ["pass", "fail"]
    done = browser.post(urljoin(session.url, action), data={"outcome": button},
                        allow_redirects=False, timeout=5)
    assert done.status_code == 303
    return done.headers["Location"]


def test_a_face_session_that_passes(dev_registry):
    verifier = face(dev_registry)
    session = verifier.start(ZHANG, RETURN)
    assert session.url.startswith(dev_registry.url + "/face/")
    with pytest.raises(FaceCheckIncomplete, match="face check not completed"):
        verifier.result(session.session_id)
    location = through_the_page(session, "pass")
    parts = urlsplit(location)
    assert location.startswith("http://127.0.0.1:9/realname/face/done?")
    assert parse_qs(parts.query) == {"step": ["2"], "face_session": [session.session_id]}
    result = verifier.result(session.session_id)
    assert result.outcome == "match" and result.matched and result.source == "face"
    assert result.detail["liveness"] is True and result.detail["match"] is True
    assert result.reference.startswith("dev-face-")
    # the first outcome stands
    requests.post(session.url, data={"outcome": "fail"}, allow_redirects=False, timeout=5)
    assert verifier.result(session.session_id).matched


def test_a_face_session_that_fails(dev_registry):
    verifier = face(dev_registry)
    session = verifier.start(ZHANG, RETURN)
    through_the_page(session, "fail")
    result = verifier.result(session.session_id)
    assert result.outcome == "mismatch" and not result.matched
    assert result.detail["liveness"] is False


def test_the_face_of_an_unknown_person_never_matches(dev_registry):
    verifier = face(dev_registry)
    for person in (NOBODY, PersonClaim("李四", "resident_id", ZHANG.number)):
        session = verifier.start(person, RETURN)
        page = requests.get(session.url, timeout=5).text
        assert "not in the development registry" in page
        through_the_page(session, "pass")
        result = verifier.result(session.session_id)
        assert result.outcome == "mismatch"
        assert result.detail == {**result.detail, "liveness": True, "match": False}


@pytest.mark.parametrize("configured, matched", [("pass", True), ("fail", False)])
def test_a_configured_face_outcome_completes_at_once(dev_registry, configured, matched):
    dev_registry.app.config["DEV_REGISTRY_FACE_OUTCOME"] = configured
    verifier = face(dev_registry)
    session = verifier.start(ZHANG, "http://127.0.0.1:9/back")
    page = requests.get(session.url, allow_redirects=False, timeout=5)
    assert page.status_code == 303
    assert page.headers["Location"] == f"http://127.0.0.1:9/back?face_session={session.session_id}"
    assert verifier.result(session.session_id).matched is matched


def test_an_unknown_face_session_is_unavailable(dev_registry):
    with pytest.raises(VerificationUnavailable, match="answered 404"):
        face(dev_registry).result("no-such-session")
    assert requests.get(dev_registry.url + "/face/no-such-session", timeout=5).status_code == 404


def test_a_face_answer_for_another_session_is_refused(dev_registry):
    verifier = face(dev_registry)
    first = verifier.start(ZHANG, RETURN)
    through_the_page(first, "pass")
    assert verifier.result(first.session_id).matched
    second = verifier.start(NOBODY, RETURN)
    dev_registry.faults.answer = "replay"  # the first session's signed "completed" answer
    with pytest.raises(VerificationUnavailable):
        verifier.result(second.session_id)


def test_face_start_needs_an_http_return_url(dev_registry):
    with pytest.raises(ValueError, match="return_url"):
        face(dev_registry).start(ZHANG, "javascript:alert(1)")


def test_the_service_mounted_under_a_prefix(start_dev_registry):
    """As the development provider mounts it: signed GETs cover the prefixed path."""
    reg = start_dev_registry(prefix="/dev/registry")
    assert reg.url.endswith("/dev/registry")
    assert registry(reg).verify(ZHANG).matched
    verifier = face(reg)
    session = verifier.start(PERMIT, RETURN)
    assert session.url.startswith(reg.url + "/face/")
    through_the_page(session, "pass")
    assert verifier.result(session.session_id).matched


def test_the_service_mounted_in_the_provider(database_url, wsgi_server):
    """Mounted by the development provider: its CSRF check and rate limits stay out of the
    way of signed server calls and of the page's buttons."""
    app = make_app(database_url, DEV_REGISTRY_MOUNT=True)
    assert app.config["DEV_REGISTRY_SECRET"] == app.config["REALNAME_REGISTRY_SECRET"]
    server = wsgi_server(app)
    url = f"http://127.0.0.1:{server.server_port}/dev/registry"
    verifier = HttpRegistryVerifier(url, "gov-idp", app.config["REALNAME_REGISTRY_SECRET"],
                                    retries=0)
    assert verifier.verify(ZHANG).matched
    faces = HttpFaceVerifier(url, "gov-idp", app.config["REALNAME_FACE_SECRET"], retries=0)
    session = faces.start(ZHANG, RETURN)
    through_the_page(session, "pass")
    assert faces.result(session.session_id).matched


# --- configuration ------------------------------------------------------------------------

def test_verifiers_from_the_configuration(database_url, dev_registry):
    app = make_app(database_url, fresh=False, REALNAME_REGISTRY_URL=dev_registry.url,
                   REALNAME_REGISTRY_SECRET=dev_registry.secret,
                   REALNAME_FACE_URL=dev_registry.url, REALNAME_FACE_SECRET=dev_registry.secret,
                   REALNAME_READ_TIMEOUT=1.5, REALNAME_RETRIES=1)
    with app.app_context():
        verifier = registry_verifier()
        assert verifier.client.read_timeout == 1.5 and verifier.client.retries == 1
        assert verifier.client.client_id == app.config["REALNAME_REGISTRY_CLIENT_ID"]
        assert verifier.verify(ZHANG).matched
        assert face_verifier().start(ZHANG, RETURN).session_id
        app.config["REALNAME_REGISTRY_URL"] = ""
        with pytest.raises(VerificationUnavailable, match="not configured"):
            registry_verifier()


def test_names_and_numbers_are_never_logged(dev_registry, caplog, monkeypatch):
    names = ("idp.realname.verifiers", "idp.realname.devregistry", "idp.signed_http")
    for name in names:  # Alembic's fileConfig may have disabled them
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
    caplog.set_level(logging.DEBUG)
    registry(dev_registry).verify(ZHANG)
    registry(dev_registry).verify(NOBODY)
    session = face(dev_registry).start(ZHANG, RETURN)
    through_the_page(session, "pass")
    face(dev_registry).result(session.session_id)
    dev_registry.faults.fail_next = 1
    registry(dev_registry, retries=1).verify(PERMIT)
    with pytest.raises(VerificationUnavailable):
        registry(dev_registry, secret="x" * 40).verify(ZHANG)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "identity registry: match" in logged and "retrying" in logged
    for secret in ("张三", "陈大文", ZHANG.number, PERMIT.number, NOBODY.number, "31X"):
        assert secret not in logged


# --- the development service itself -------------------------------------------------------

def test_the_people_csv_is_checked(tmp_path):
    people = load_people()
    assert people[("resident_id", ZHANG.number)] == "张三"
    bad = tmp_path / "people.csv"
    bad.write_text("name,doc_type,number\n张三,resident_id,110101198001010310\n", "utf-8")
    with pytest.raises(ValueError, match="line 2: check_character"):
        load_people(str(bad))
    bad.write_text("name,number\n", "utf-8")
    with pytest.raises(ValueError, match="missing column"):
        load_people(str(bad))
    own = tmp_path / "own.csv"
    own.write_text("# mine\nname,doc_type,number\n测试,resident_id,110101199001010015\n", "utf-8")
    app = create_registry_app(str(own), secret="s" * 40)
    assert app.config["DEV_REGISTRY_PEOPLE"] == str(own)
    with pytest.raises(ValueError):
        create_registry_app(secret="s" * 40, face_outcome="maybe")
    with pytest.raises(ValueError):
        create_registry_app()


def test_the_command(monkeypatch):
    served = {}
    monkeypatch.setattr(devregistry, "serve", lambda *a: served.setdefault("args", a))
    runner = CliRunner()
    result = runner.invoke(dev_registry_command, [], env={"IDP_REALNAME_REGISTRY_SECRET": ""})
    assert result.exit_code != 0 and "--secret" in result.output
    result = runner.invoke(dev_registry_command, ["--secret", "short"])
    assert result.exit_code != 0 and "at least 32 characters" in result.output
    result = runner.invoke(dev_registry_command, ["--port", "5101", "--face-outcome", "pass"],
                           env={"IDP_REALNAME_REGISTRY_SECRET": "s" * 40})
    assert result.exit_code == 0, result.output
    assert served["args"] == ("127.0.0.1", 5101, None, "s" * 40, "pass")


def test_the_service_answers_404_in_production(dev_registry):
    dev_registry.app.config["ENV_NAME"] = "production"
    assert requests.get(dev_registry.url + "/face/x", timeout=5).status_code == 404
    with pytest.raises(VerificationUnavailable, match="answered 404"):
        registry(dev_registry).verify(ZHANG)


# --- idp.signed_http: the signatures ------------------------------------------------------

KEY = "a-shared-secret-a-shared-secret-0123"
BODY = b'{"name":"x","request_id":"0123"}'


def test_a_good_signature_verifies():
    headers = signed_headers(KEY, BODY, "0123")
    assert headers["X-Signature"] == signature(KEY, BODY)
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", headers["X-Signature"])
    assert verify_signature(KEY, BODY, headers)
    # header names are case-insensitive
    assert verify_signature(KEY, BODY, {k.lower(): v for k, v in headers.items()})
    assert verify_signature(KEY.encode(), BODY, headers)


@pytest.mark.parametrize("change", [
    lambda h, b: (h, b + b" "),                                   # body tampered
    lambda h, b: (h, b.replace(b"x", b"y")),
    lambda h, b: ({**h, "X-Signature": signature("another-key", b)}, b),
    lambda h, b: ({**h, "X-Signature": h["X-Signature"].replace("sha256=", "sha1=")}, b),
    lambda h, b: ({**h, "X-Signature": h["X-Signature"].upper()}, b),
    lambda h, b: ({k: v for k, v in h.items() if k != "X-Signature"}, b),
    lambda h, b: ({k: v for k, v in h.items() if k != "X-Timestamp"}, b),
    lambda h, b: ({**h, "X-Timestamp": "yesterday"}, b),
])
def test_a_tampered_message_does_not_verify(change):
    headers, body = change(signed_headers(KEY, BODY, "0123"), BODY)
    assert not verify_signature(KEY, body, headers)


def test_the_clock_skew_is_bounded():
    now = 1_800_000_000
    for offset, ok in ((-300, True), (300, True), (-301, False), (301, False), (0, True)):
        headers = signed_headers(KEY, BODY, "0123", now=now + offset)
        assert verify_signature(KEY, BODY, headers, now=now) is ok, offset
    headers = signed_headers(KEY, BODY, "0123", now=now - 50)
    assert not verify_signature(KEY, BODY, headers, max_skew=30, now=now)
    with pytest.raises(Exception, match="clock skew"):
        check_signature(KEY, BODY, signed_headers(KEY, BODY, "0", now=now - 301), now=now)
    for stamp in ("\u00b2", "\u0661\u0662", "1e9", "-5", "9" * 40):  # never a 500 later
        headers = {**signed_headers(KEY, BODY, "0", now=now), "X-Timestamp": stamp}
        assert not verify_signature(KEY, BODY, headers, now=now), stamp


def test_request_targets_and_retryable_errors():
    client = SignedHttpClient("http://127.0.0.1:1/dev/registry", KEY)
    assert client.target("/v1/face/sessions/abc") == "/dev/registry/v1/face/sessions/abc"
    assert client.target() == "/dev/registry"
    sms = SignedHttpClient("https://sms.example/v1/sms?tenant=idp", KEY)
    assert sms.target() == "/v1/sms?tenant=idp"
    assert sms.target("/x?y=1") == "/v1/sms/x?tenant=idp&y=1"
    assert SignedHttpClient("http://h", KEY).target() == "/"
    with pytest.raises(ValueError):
        SignedHttpClient("ftp://h/", KEY)
    with pytest.raises(ValueError):
        SignedHttpClient("http://h/", "")
    assert SignedHttpError("timeout", "t").retryable
    assert SignedHttpError("unreachable", "u").retryable
    assert SignedHttpError("status", "s", status=502).retryable
    assert not SignedHttpError("status", "s", status=401).retryable
    assert not SignedHttpError("signature", "s").retryable
    assert not SignedHttpError("bad_response", "b").retryable


def test_a_get_signs_its_path_and_query(wsgi_server):
    """What the GET signature covers, seen from the receiving side."""
    seen = {}

    def record(environ, start_response):
        seen.update(target=environ["RAW_URI"], sig=environ.get("HTTP_X_SIGNATURE"),
                    ts=environ.get("HTTP_X_TIMESTAMP"))
        body = json.dumps({"request_id": environ.get("HTTP_X_REQUEST_ID")}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  *signed_headers(KEY, body, "r").items()])
        return [body]

    server = wsgi_server(record)
    client = SignedHttpClient(f"http://127.0.0.1:{server.server_port}/base?t=1", KEY,
                              signed_answers=True)
    response = client.get("/v1/x/y%20z?a=b", request_id="r" * 32)
    assert response.json() == {"request_id": "r" * 32}
    assert seen["target"] == "/base/v1/x/y%20z?t=1&a=b"
    assert seen["sig"] == signature(KEY, seen["target"].encode())
    assert verify_signature(KEY, seen["target"].encode(),
                            {"X-Signature": seen["sig"], "X-Timestamp": seen["ts"]})


def test_a_verification_result_knows_whether_it_matched():
    assert VerificationResult("match", "registry").matched
    assert not VerificationResult("not_found", "registry").matched
