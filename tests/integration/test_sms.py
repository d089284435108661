"""Text-message senders: the development outbox (page, command, log) and the signed HTTP
gateway, against a real HTTP server on a random loopback port."""

import hashlib
import hmac
import json
import logging
import re
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest

from config import ConfigError
from idp import create_app
from mfa.codes import DeliveryError
from mfa.sms import HttpGatewaySender
from mfa.sms import SmsMessage
from tests.conftest import make_app
from tests.factories import PRODUCTION as BASE_PRODUCTION
from tests.factories import Flow
from tests.factories import form_of

SECRET = "gateway-secret-gateway-secret-0123456789"
DELIVERY_FAILED = "We could not send the text message just now. Try again in a few minutes."


class Gateway(ThreadingHTTPServer):
    """Answers ``status`` after ``delay`` seconds and remembers every request."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, status=200, delay=0.0):
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.status, self.delay, self.requests = status, delay, []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/v1/sms?tenant=idp"

    def handle_error(self, request, client_address):
        pass  # the client gave up on a slow answer: expected in the timeout test


class GatewayHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers),
                                     "body": body})
        time.sleep(self.server.delay)
        payload = b'{"ok":true}' if self.server.status < 300 else b'{"error":"boom"}'
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(start_server):
    return lambda status=200, delay=0.0: start_server(Gateway(status, delay))


def gateway_app(database_url, server, read_timeout=0.5):
    return make_app(database_url, SMS_SENDER="http", SMS_GATEWAY_URL=server.url,
                    SMS_GATEWAY_SECRET=SECRET, SMS_GATEWAY_READ_TIMEOUT=read_timeout)


def ask_for_code(app, phone="13987654321"):
    flow = Flow(app.test_client())
    flow.get("/register?lang=en")
    action, fields = form_of(flow.get("/register").get_data(as_text=True))
    fields["phone"] = phone
    return flow.post(action, data=fields)


def error_of(response):
    match = re.search(r'<p class="error" role="alert" id="form-error">([^<]*)</p>',
                      response.get_data(as_text=True))
    return match and match.group(1)


def test_the_gateway_gets_one_signed_json_post(database_url, gateway):
    server = gateway()
    app = gateway_app(database_url, server)
    before = int(time.time())
    response = ask_for_code(app)
    assert response.status_code == 200
    [req] = server.requests
    assert req["path"] == "/v1/sms?tenant=idp"
    expected = hmac.new(SECRET.encode(), req["body"], hashlib.sha256).hexdigest()
    assert req["headers"]["X-Signature"] == f"sha256={expected}"
    assert before <= int(req["headers"]["X-Timestamp"]) <= int(time.time())
    assert req["headers"]["Content-Type"].startswith("application/json")
    body = json.loads(req["body"])
    assert set(body) == {"to", "text", "template", "params", "request_id"}
    assert body["to"] == "+8613987654321"
    assert body["template"] == "verification_code"
    assert re.fullmatch(r"\d{6}", body["params"]["code"]) and body["params"]["minutes"] == 5
    assert body["text"] == ("[Unified Identity Authentication] Your verification code is "
                            f"{body['params']['code']}. It is valid for 5 minutes. Do not share "
                            "it with anyone.")
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    # and the code it carried registers the account
    flow = Flow(app.test_client())
    flow.get("/register?lang=en")
    _action, fields = form_of(flow.get("/register").get_data(as_text=True))
    fields.update(phone=body["to"], code=body["params"]["code"], password="Ample-Harbour-42",
                  password_confirm="Ample-Harbour-42")
    assert flow.post("/register", data=fields).status_code == 303


def test_a_gateway_error_is_one_attempt_and_a_clear_message(database_url, gateway):
    server = gateway(status=500)
    app = gateway_app(database_url, server)
    response = ask_for_code(app)
    assert response.status_code == 503
    assert error_of(response) == DELIVERY_FAILED
    assert len(server.requests) == 1  # no retries


def test_a_slow_gateway_times_out(database_url, gateway):
    server = gateway(delay=1.5)
    app = gateway_app(database_url, server, read_timeout=0.5)
    started = time.monotonic()
    response = ask_for_code(app)
    assert time.monotonic() - started < 1.4
    assert response.status_code == 503
    assert error_of(response) == DELIVERY_FAILED
    assert len(server.requests) == 1


def test_the_sender_raises_a_typed_error(gateway):
    message = SmsMessage(to="+8613987654321", text="t", template="verification_code")
    with pytest.raises(DeliveryError, match="answered 500"):
        HttpGatewaySender(gateway(status=500).url, SECRET).send(message)
    with pytest.raises(DeliveryError, match="did not answer in time"):
        HttpGatewaySender(gateway(delay=1.5).url, SECRET, read_timeout=0.5).send(message)
    closed = Gateway()
    url = closed.url
    closed.server_close()  # nothing listens there any more
    with pytest.raises(DeliveryError, match="unreachable"):
        HttpGatewaySender(url, SECRET, connect_timeout=0.5).send(message)


def test_after_a_failed_send_the_code_is_gone(database_url, gateway):
    """A code whose message never left must not be guessable."""
    server = gateway(status=502)
    app = gateway_app(database_url, server)
    assert ask_for_code(app).status_code == 503
    body = json.loads(server.requests[0]["body"])
    flow = Flow(app.test_client())
    flow.get("/register?lang=en")
    _action, fields = form_of(flow.get("/register").get_data(as_text=True))
    fields.update(phone=body["to"], code=body["params"]["code"], password="Ample-Harbour-42",
                  password_confirm="Ample-Harbour-42")
    refused = flow.post("/register", data=fields)
    assert refused.status_code == 400
    assert error_of(refused) == ("The code is wrong or has expired. Check it, or ask for a new "
                                 "code.")


def test_the_outbox_logs_a_masked_number_and_no_code(client, caplog, monkeypatch):
    # Alembic's fileConfig (migrations/env.py) disables loggers that exist when it runs
    monkeypatch.setattr(logging.getLogger("mfa.sms"), "disabled", False)
    flow = Flow(client)
    action, fields = form_of(flow.get("/register").get_data(as_text=True))
    fields["phone"] = "13800138000"
    with caplog.at_level(logging.INFO, logger="mfa.sms"):
        flow.post(action, data=fields)
    assert "SMS to +86138****8000 queued in the development outbox" in caplog.messages
    code = re.search(r"验证码是(\d{6})", flow.get("/dev/sms-outbox").get_data(as_text=True))
    assert code and all(code.group(1) not in m for m in caplog.messages)


def test_the_outbox_keeps_the_last_fifty(app, client):
    app.config["SMS_PHONE_INTERVAL"] = 0
    app.config["SMS_IP_PER_HOUR"] = 1000
    flow = Flow(client)
    for i in range(52):
        action, fields = form_of(flow.get("/register").get_data(as_text=True))
        fields["phone"] = f"138{i:08d}"
        assert flow.post(action, data=fields).status_code == 200
    page = flow.get("/dev/sms-outbox").get_data(as_text=True)
    numbers = re.findall(r'<td class="sms-to">([^<]+)</td>', page)
    assert len(numbers) == 50
    assert numbers[0] == "+8613800000051" and numbers[-1] == "+8613800000002"


def test_the_outbox_command(app, client):
    flow = Flow(client)
    action, fields = form_of(flow.get("/register").get_data(as_text=True))
    fields["phone"] = "13800138000"
    flow.post(action, data=fields)
    cli = app.test_cli_runner()
    result = cli.invoke(args=["sms", "outbox", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [message] = json.loads(result.output)
    assert message["to"] == "+8613800138000"
    assert re.fullmatch(r"【统一身份认证】您的验证码是\d{6}，5分钟内有效。请勿告诉他人。",
                        message["text"])
    result = cli.invoke(args=["sms", "outbox"], catch_exceptions=False)
    assert result.exit_code == 0 and "+8613800138000" in result.output
    app.config["SMS_SENDER"] = "http"
    result = cli.invoke(args=["sms", "outbox"])
    assert result.exit_code != 0 and "IDP_SMS_SENDER=outbox" in result.output


def test_the_outbox_page_is_for_development_only(app, client):
    assert client.get("/dev/sms-outbox").status_code == 200
    app.config["ENV_NAME"] = "production"
    assert client.get("/dev/sms-outbox").status_code == 404


PRODUCTION = {**BASE_PRODUCTION, "SMS_GATEWAY_SECRET": SECRET}


def test_production_starts_with_the_gateway():
    assert create_app(PRODUCTION).config["SMS_GATEWAY_READ_TIMEOUT"] == 5.0


@pytest.mark.parametrize("change, message", [
    ({"SMS_SENDER": "outbox"}, "production requires IDP_SMS_SENDER=http"),
    ({"SMS_SENDER": "carrier-pigeon"}, "IDP_SMS_SENDER must be outbox or http"),
    ({"SMS_GATEWAY_URL": ""}, "IDP_SMS_GATEWAY_URL must be an absolute https URL"),
    ({"SMS_GATEWAY_URL": "http://sms.gov.example/v1/send"}, "https IDP_SMS_GATEWAY_URL"),
    ({"SMS_GATEWAY_SECRET": None}, "IDP_SMS_GATEWAY_SECRET must be set"),
    ({"SMS_GATEWAY_SECRET": "short"}, "at least 32 characters"),
    ({"SMS_GATEWAY_READ_TIMEOUT": "soon"}, "IDP_SMS_GATEWAY_READ_TIMEOUT must be a number"),
    ({"SMS_GATEWAY_CONNECT_TIMEOUT": 0}, "between 0 and 30"),
])
def test_production_refuses_an_unusable_sms_configuration(change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app({**PRODUCTION, **change})


def test_timeouts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("IDP_SMS_GATEWAY_READ_TIMEOUT", "2.5")
    monkeypatch.setenv("IDP_SMS_IP_PER_HOUR", "7")
    app = create_app({k: v for k, v in PRODUCTION.items()})
    assert app.config["SMS_GATEWAY_READ_TIMEOUT"] == 2.5
    assert app.config["SMS_IP_PER_HOUR"] == 7
