"""The optional email address: confirming it by a code on /account, changing and removing it,
logging in with it, email codes as a fallback second factor, and the senders (the development
outbox, and SMTP against a small SMTP server on a random loopback port)."""

import email as stdlib_email
import email.policy
import re
import socket
import socketserver

import pytest
from freezegun import freeze_time

from config import ConfigError
from idp import create_app
from idp.accounts.models import User
from idp.audit.models import AuditEvent
from idp.extensions import db
from mfa import email as mfa_email
from tests import factories as f
from tests.conftest import make_app
from tests.integration.test_account import sign_in
from tests.integration.test_mfa_login import enrol_totp
from tests.integration.test_mfa_login import start
from tests.integration.test_mfa_login import submit
from tests.integration.test_mfa_login import tokens

ADDRESS = "zhangsan@example.cn"
DELIVERY_FAILED = "We could not send the email just now. Try again in a few minutes."
TAKEN = "This email address cannot be added to your account. Use another one."


@pytest.fixture
def citizen(app):
    with app.app_context():
        f.user()
        f.user(phone="13900139000", name="李四")
        return f.rp()


def csrf_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def post(flow, page, action, **fields):
    return flow.follow(flow.post(action, data={"csrf_token": csrf_of(page), **fields}))


def error_of(response):
    match = re.search(r'<p class="error" role="alert" id="email-error">([^<]*)</p>',
                      response.get_data(as_text=True))
    return match and match.group(1)


def last_code(app, to=ADDRESS):
    with app.app_context():
        message = mfa_email.outbox()[0]
    assert message["to"] == to
    return re.search(r"\b(\d{6})\b", message["text"]).group(1)


def other_than(code):
    return "000000" if code != "000000" else "111111"


def ask(flow, address=ADDRESS, lang="en"):
    page = flow.get(f"/account/email?lang={lang}")
    assert page.status_code == 200
    return post(flow, page, "/account/email/code", email=address)


def confirm(app, flow, address=ADDRESS, phone="13800138000"):
    """Sign in as ``phone``'s citizen and confirm ``address``; returns the /account page."""
    sign_in_as(flow, phone)
    page = ask(flow, address)
    assert page.status_code == 200, error_of(page)
    return post(flow, page, "/account/email/confirm", code=last_code(app, address))


def sign_in_as(flow, phone):
    if phone == "13800138000":
        return sign_in(flow)
    page = flow.follow(flow.get("/account"))
    return flow.login(page, username=phone)


def user_of(app, phone="13800138000"):
    with app.app_context():
        user = User.query.filter_by(phone="+86" + phone).one()
        db.session.expunge(user)
        return user


def actions_of(app, user_id):
    with app.app_context():
        return [e.action for e in AuditEvent.query.filter_by(user_id=user_id)]


# --- Addresses -----------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("  ZhangSan@Example.CN ", "zhangsan@example.cn"),
    ("li.si+gov@mail.example.com.cn", "li.si+gov@mail.example.com.cn"),
    ("nobody@localhost", None),
    ("two@@example.cn", None),
    ("a@b@example.cn", None),
    ("with space@example.cn", None),
    ("line\nbreak@example.cn", None),
    (".dot@example.cn", None),
    ("dot..dot@example.cn", None),
    ("x@-bad.example.cn", None),
    ("x@example..cn", None),
    ("张三@example.cn", None),
    ("x" * 65 + "@example.cn", None),
    ("x@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".cn", None),
    ("", None),
])
def test_addresses_are_checked_and_lower_cased(raw, expected):
    assert mfa_email.normalise(raw) == expected


def test_masking_keeps_the_domain():
    assert mfa_email.mask("zhangsan@example.cn") == "z***n@example.cn"
    assert mfa_email.mask("ab@example.cn") == "a***@example.cn"


# --- Confirming an address -----------------------------------------------------------------

def test_confirm_an_email_end_to_end(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    page = ask(flow, "  ZhangSan@Example.CN ")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in html
    assert ADDRESS in html
    with app.app_context():
        [message] = mfa_email.outbox()
    assert message["to"] == ADDRESS and message["template"] == "verification_code"
    assert message["subject"] == "[Unified Identity Authentication] Your email verification code"
    assert "valid for 10 minutes" in message["text"]
    assert user_of(app).email is None  # not on the account until the code proves it
    done = post(flow, page, "/account/email/confirm", code=last_code(app))
    assert done.status_code == 200 and done.request.path == "/account"
    assert ADDRESS in done.get_data(as_text=True)
    user = user_of(app)
    assert user.email == ADDRESS and user.email_verified is True
    assert "email.added" in actions_of(app, user.id)


def test_the_email_follows_the_page_language(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    ask(flow, lang="zh")
    with app.app_context():
        message = mfa_email.outbox()[0]
    assert message["subject"] == "【统一身份认证】邮箱验证码"
    assert re.search(r"您的验证码是 \d{6}，10 分钟内有效", message["text"])


def test_wrong_code_then_the_right_one(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    page = ask(flow)
    code = last_code(app)
    wrong = post(flow, page, "/account/email/confirm", code=other_than(code))
    assert wrong.status_code == 400
    assert error_of(wrong) == ("The code is wrong or has expired. Check it, or ask for a new "
                               "code.")
    assert post(flow, page, "/account/email/confirm", code="12ab").status_code == 400
    assert post(flow, page, "/account/email/confirm", code=code).status_code == 200
    assert user_of(app).email_verified is True


def test_five_wrong_codes_kill_the_code(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    page = ask(flow)
    code = last_code(app)
    for _ in range(5):
        assert post(flow, page, "/account/email/confirm", code=other_than(code)).status_code == 400
    assert post(flow, page, "/account/email/confirm", code=code).status_code == 400
    assert user_of(app).email is None


def test_an_expired_code_is_refused(app, citizen, client):
    flow = f.Flow(client)
    with freeze_time() as frozen:
        sign_in(flow)
        page = ask(flow)
        code = last_code(app)
        frozen.tick(10 * 60 + 1)
        late = post(flow, page, "/account/email/confirm", code=code)
    assert late.status_code == 400
    assert error_of(late) == "That request has expired. Enter your email address again."
    assert user_of(app).email is None


def test_a_code_works_once(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    page = ask(flow)
    code = last_code(app)
    assert post(flow, page, "/account/email/confirm", code=code).status_code == 200
    again = post(flow, page, "/account/email/confirm", code=code)
    assert again.status_code == 400


@pytest.mark.config(EMAIL_ADDRESS_INTERVAL=0)  # frozen time does not reach Redis' expiry
def test_a_code_for_one_account_does_not_confirm_for_another(app, citizen):
    first, second = f.Flow(app.test_client()), f.Flow(app.test_client())
    sign_in(first)
    ask(first)
    code = last_code(app)
    sign_in_as(second, "13900139000")
    page = ask(second)
    assert page.status_code == 200
    if last_code(app) != code:  # the second account's own code differs (all but 1 in 10^6)
        assert post(second, page, "/account/email/confirm", code=code).status_code == 400
    assert user_of(app, "13900139000").email is None


def test_invalid_address_is_refused(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    page = ask(flow, "not-an-address")
    assert page.status_code == 400
    assert error_of(page) == "Enter a valid email address, such as name@example.cn."
    with app.app_context():
        assert mfa_email.outbox() == []


def test_a_second_code_within_a_minute_waits(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    assert ask(flow).status_code == 200
    again = ask(flow)
    assert again.status_code == 429 and "seconds" in error_of(again)


@pytest.mark.config(EMAIL_ADDRESS_INTERVAL=0)
def test_an_address_confirmed_by_another_account_is_refused(app, citizen):
    confirm(app, f.Flow(app.test_client()), phone="13900139000")
    flow = f.Flow(app.test_client())
    sign_in(flow)
    page = ask(flow)
    # the same answer as for a free address: only the mailbox's reader learns more
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    refused = post(flow, page, "/account/email/confirm", code=last_code(app))
    assert refused.status_code == 409 and error_of(refused) == TAKEN
    assert user_of(app).email is None
    assert user_of(app, "13900139000").email == ADDRESS
    assert "email.add" in actions_of(app, user_of(app).id)


def test_an_unconfirmed_address_on_another_account_goes_to_whoever_proves_it(app, citizen):
    with app.app_context():
        other = User.query.filter_by(phone="+8613900139000").one()
        other.email, other.email_verified = ADDRESS, False  # typed in by an operator
        db.session.commit()
    page = confirm(app, f.Flow(app.test_client()))
    assert page.status_code == 200
    assert user_of(app).email == ADDRESS and user_of(app, "13900139000").email is None
    assert "email.removed" in actions_of(app, user_of(app, "13900139000").id)


def test_changing_and_removing_need_a_recent_login(app, citizen, client):
    flow = f.Flow(client)
    with freeze_time() as frozen:
        confirm(app, flow)
        frozen.tick(11 * 60)
        page = flow.get("/account/email")
        assert page.status_code == 200  # looking is fine
        r = flow.post("/account/email/code", data={"csrf_token": csrf_of(page),
                                                   "email": "new@example.cn"})
        assert r.status_code == 303 and r.headers["Location"].startswith("/interaction/")
        r = flow.post("/account/email/remove", data={"csrf_token": csrf_of(page)})
        assert r.status_code == 303 and r.headers["Location"].startswith("/interaction/")
        assert user_of(app).email == ADDRESS
        # after logging in again, the change repeats the whole confirmation
        page = flow.login(flow.follow(r))
        page = ask(flow, "New@Example.cn")
        assert page.status_code == 200
        assert user_of(app).email == ADDRESS  # the old one stays until the new one is proved
        done = post(flow, page, "/account/email/confirm", code=last_code(app, "new@example.cn"))
    assert done.status_code == 200
    assert user_of(app).email == "new@example.cn"


def test_remove_the_address(app, citizen, client):
    flow = f.Flow(client)
    page = confirm(app, flow)
    page = flow.get("/account/email")
    done = post(flow, page, "/account/email/remove")
    assert done.status_code == 200 and done.request.path == "/account"
    user = user_of(app)
    assert user.email is None and user.email_verified is False
    assert "email.removed" in actions_of(app, user.id)


def test_the_overview_shows_the_address(app, citizen, client):
    flow = f.Flow(client)
    html = sign_in(flow).get_data(as_text=True)
    assert 'href="/account/email"' in html
    page = ask(flow)
    html = post(flow, page, "/account/email/confirm", code=last_code(app)).get_data(as_text=True)
    assert re.search(r'id="email-state">[^<]*zhangsan@example\.cn', html)


# --- Logging in ----------------------------------------------------------------------------

def test_login_by_the_confirmed_email(app, citizen):
    confirm(app, f.Flow(app.test_client()))
    flow = f.Flow(app.test_client())
    q = flow.code(f.authorize_params(citizen[0], f.pkce()[1]), username="ZhangSan@example.cn")
    assert "code" in q


def verified_email(app, phone="+8613800138000"):
    with app.app_context():
        user = User.query.filter_by(phone=phone).one()
        user.email, user.email_verified = ADDRESS, True
        db.session.commit()


def test_email_code_meets_a_platforms_mfa_policy(app, citizen, client):
    verified_email(app)
    with app.app_context():
        strict = f.rp(name="Tax", require_mfa=True)
    flow = f.Flow(client)
    verifier, page = start(flow, strict)
    page = flow.login(page)
    html = page.get_data(as_text=True)
    assert "/mfa/email/send" in html and "z***n@example.cn" in html
    page = submit(flow, page, "/mfa/email/send")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="email-code"' in html
    code = last_code(app)
    wrong = email_step(flow, page, other_than(code))
    assert wrong.status_code == 401
    page = flow.consent(email_step(flow, wrong, code))
    claims = f.claims_of(app, tokens(client, strict, f.query(page.headers["Location"])["code"],
                                     verifier)["id_token"]).claims
    assert claims["amr"] == ["pwd", "email", "mfa"]
    # the code was used up
    other = f.Flow(app.test_client())
    _v, page = start(other, strict)
    assert email_step(other, other.login(page), code).status_code == 401


def test_email_codes_are_not_offered_to_someone_with_an_app(app, citizen, client):
    verified_email(app)
    with app.app_context():
        strict = f.rp(name="Tax", require_mfa=True)
    enrol_totp_for_one(app)
    flow = f.Flow(client)
    _v, page = start(flow, strict)
    html = flow.login(page).get_data(as_text=True)
    assert "/mfa/totp" in html and "/mfa/email" not in html


def email_step(flow, page, code):
    """Type ``code`` into the login's email-code step (its URL is the send form's, less
    ``/send``)."""
    html = page.get_data(as_text=True)
    action = re.search(r'action="([^"]*/mfa/email)/send"', html).group(1)
    return flow.follow(flow.post(action, data={"csrf_token": csrf_of(page), "code": code}))


def enrol_totp_for_one(app):
    with app.app_context():
        keep = User.query.filter_by(phone="+8613900139000").one()
        db.session.delete(keep)  # enrol_totp expects a single citizen
        db.session.commit()
    enrol_totp(app)


def test_email_codes_are_not_offered_for_an_unconfirmed_address(app, citizen, client):
    with app.app_context():
        user = User.query.filter_by(phone="+8613800138000").one()
        user.email, user.email_verified = ADDRESS, False
        db.session.commit()
        strict = f.rp(name="Tax", require_mfa=True)
    flow = f.Flow(client)
    _v, page = start(flow, strict)
    html = flow.login(page).get_data(as_text=True)
    assert "/mfa/email" not in html


# --- Senders -------------------------------------------------------------------------------

class SmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP (RFC 5321) to accept or refuse one message per connection; ``fail``
    is None, "greeting" (421 at connect), "rcpt" (550 for the recipient) or "data" (554)."""

    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, fail=None):
        super().__init__(("127.0.0.1", 0), SmtpHandler)
        self.fail = fail
        self.messages = []
        self.commands = []

    @property
    def port(self):
        return self.server_address[1]


class SmtpHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        server = self.server
        if server.fail == "greeting":
            self.reply("421 127.0.0.1 service not available")
            return
        self.reply("220 127.0.0.1 ESMTP test")
        envelope = {"rcpt": []}
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            server.commands.append(verb)
            if verb in ("EHLO", "HELO"):
                self.reply("250-127.0.0.1")
                self.reply("250 8BITMIME")
            elif verb == "MAIL":
                envelope["from"] = command
                self.reply("250 OK")
            elif verb == "RCPT":
                if server.fail == "rcpt":
                    self.reply("550 5.1.1 no such mailbox")
                else:
                    envelope["rcpt"].append(command)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                if server.fail == "data":
                    self.reply("554 5.7.1 rejected")
                else:
                    server.messages.append({**envelope, "data": data[:-5]})
                    self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def smtp(start_server):
    return lambda fail=None: start_server(SmtpServer(fail))


def smtp_app(database_url, port, security="none"):
    app = make_app(database_url, EMAIL_SENDER="smtp", EMAIL_SMTP_HOST="127.0.0.1",
                   EMAIL_SMTP_PORT=port, EMAIL_SMTP_SECURITY=security, EMAIL_SMTP_TIMEOUT=2,
                   EMAIL_FROM="统一身份认证 <noreply@idp.gov.example>")
    with app.app_context():
        f.user()
    return app


def test_the_smtp_sender_delivers_the_code(database_url, smtp):
    server = smtp()
    app = smtp_app(database_url, server.port)
    flow = f.Flow(app.test_client())
    sign_in(flow)
    page = ask(flow, "ZhangSan@Example.cn")
    assert page.status_code == 200, error_of(page)
    [sent] = server.messages
    assert sent["from"].upper().startswith("MAIL FROM:<NOREPLY@IDP.GOV.EXAMPLE>")
    assert [r.upper() for r in sent["rcpt"]] == [f"RCPT TO:<{ADDRESS.upper()}>"]
    message = stdlib_email.message_from_bytes(sent["data"], policy=email.policy.default)
    assert message["To"] == ADDRESS
    assert message["Subject"] == ("[Unified Identity Authentication] Your email verification "
                                  "code")
    assert message["From"].addresses[0].display_name == "统一身份认证"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@idp.gov.example>")
    code = re.search(r"\b(\d{6})\b", message.get_content()).group(1)
    done = post(flow, page, "/account/email/confirm", code=code)
    assert done.status_code == 200 and user_of(app).email == ADDRESS


@pytest.mark.parametrize("fail", ["greeting", "rcpt", "data"])
def test_a_failing_relay_is_a_clear_message(database_url, smtp, fail):
    server = smtp(fail)
    app = smtp_app(database_url, server.port)
    flow = f.Flow(app.test_client())
    sign_in(flow)
    page = ask(flow)
    assert page.status_code == 503 and error_of(page) == DELIVERY_FAILED
    assert 'name="code"' not in page.get_data(as_text=True)  # no code step without a code
    assert server.commands.count("DATA") <= 1  # one attempt


def test_an_unreachable_relay_is_a_clear_message(database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    app = smtp_app(database_url, port)
    flow = f.Flow(app.test_client())
    sign_in(flow)
    page = ask(flow)
    assert page.status_code == 503 and error_of(page) == DELIVERY_FAILED


def test_starttls_is_never_skipped(database_url, smtp):
    server = smtp()  # does not offer STARTTLS
    app = smtp_app(database_url, server.port, security="starttls")
    flow = f.Flow(app.test_client())
    sign_in(flow)
    page = ask(flow)
    assert page.status_code == 503 and error_of(page) == DELIVERY_FAILED
    assert server.messages == [] and "MAIL" not in server.commands


def test_a_failing_relay_at_login_is_a_clear_message(database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = smtp_app(database_url, port)
    verified_email(app)
    with app.app_context():
        strict = f.rp(name="Tax", require_mfa=True)
    flow = f.Flow(app.test_client())
    _v, page = start(flow, strict)
    page = submit(flow, flow.login(page), "/mfa/email/send")
    assert page.status_code == 503
    assert re.search(r'id="mfa-error">[^<]+<', page.get_data(as_text=True))


def test_the_outbox_page_and_command_are_for_development_only(app, citizen, client):
    flow = f.Flow(client)
    sign_in(flow)
    ask(flow)
    page = client.get("/dev/email-outbox")
    assert page.status_code == 200 and ADDRESS in page.get_data(as_text=True)
    cli = app.test_cli_runner()
    result = cli.invoke(args=["email", "outbox", "--json"], catch_exceptions=False)
    assert result.exit_code == 0 and ADDRESS in result.output
    app.config["ENV_NAME"] = "production"
    assert client.get("/dev/email-outbox").status_code == 404
    result = cli.invoke(args=["email", "outbox"])
    assert result.exit_code != 0 and "IDP_EMAIL_SENDER=outbox" in result.output


# --- Configuration -------------------------------------------------------------------------

def test_production_starts_with_an_smtp_relay():
    config = create_app(f.PRODUCTION).config
    assert config["EMAIL_SMTP_PORT"] == 587 and config["EMAIL_SMTP_SECURITY"] == "starttls"


@pytest.mark.parametrize("change, message", [
    ({"EMAIL_SENDER": "outbox"}, "production requires IDP_EMAIL_SENDER=smtp"),
    ({"EMAIL_SENDER": "pigeon"}, "IDP_EMAIL_SENDER must be outbox or smtp"),
    ({"EMAIL_SMTP_HOST": ""}, "IDP_EMAIL_SMTP_HOST must name the mail relay"),
    ({"EMAIL_SMTP_PORT": 0}, "IDP_EMAIL_SMTP_PORT must be a TCP port"),
    ({"EMAIL_SMTP_SECURITY": "tls"}, "IDP_EMAIL_SMTP_SECURITY must be starttls, ssl or none"),
    ({"EMAIL_SMTP_SECURITY": "none"}, "only for a relay on the loopback interface"),
    ({"EMAIL_SMTP_USERNAME": "idp"}, "go together"),
    ({"EMAIL_FROM": ""}, "IDP_EMAIL_FROM must be an email address"),
    ({"EMAIL_FROM": "noreply"}, "IDP_EMAIL_FROM must be an email address"),
    ({"EMAIL_SMTP_TIMEOUT": "soon"}, "IDP_EMAIL_SMTP_TIMEOUT must be a number"),
    ({"EMAIL_SMTP_TIMEOUT": 0}, "between 0 and 60"),
])
def test_production_refuses_an_unusable_email_configuration(change, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app({**f.PRODUCTION, **change})


def test_a_loopback_relay_may_go_without_tls():
    config = create_app({**f.PRODUCTION, "EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": 25,
                         "EMAIL_SMTP_SECURITY": "none"}).config
    assert config["EMAIL_SMTP_SECURITY"] == "none"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("IDP_EMAIL_SMTP_PORT", "465")
    monkeypatch.setenv("IDP_EMAIL_SMTP_SECURITY", "ssl")
    monkeypatch.setenv("IDP_EMAIL_SMTP_TIMEOUT", "4.5")
    monkeypatch.setenv("IDP_EMAIL_SMTP_USERNAME", "idp")
    monkeypatch.setenv("IDP_EMAIL_SMTP_PASSWORD", "relay-password")
    config = create_app(f.PRODUCTION).config
    assert (config["EMAIL_SMTP_PORT"], config["EMAIL_SMTP_SECURITY"]) == (465, "ssl")
    assert config["EMAIL_SMTP_TIMEOUT"] == 4.5 and config["EMAIL_SMTP_PASSWORD"] == "relay-password"
