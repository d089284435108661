"""Self-registration with a text-message code, driven like a browser; codes are read from the
development outbox page, never from internals."""

import html
import re

import pytest
from freezegun import freeze_time

from idp.accounts.models import User
from idp.audit.models import AuditEvent
from tests import factories as f
from tests.factories import Flow
from tests.factories import form_of as raw_form_of

PHONE = "139 8765 4321"
E164 = "+8613987654321"
NEW_PASSWORD = "Ample-Harbour-42"

SENT = ("If this number can be registered, a text message with a code is on its way. The code "
        "is valid for 5 minutes.")
WRONG_CODE = "The code is wrong or has expired. Check it, or ask for a new code."
TAKEN = ("An account with this mobile number already exists. Log in with it, or reset its "
         "password.")


@pytest.fixture
def browser(client):
    flow = Flow(client)
    flow.get("/register?lang=en")  # sets the language cookie: the pages answer in English
    return flow


def form_of(page):
    action, fields = raw_form_of(page)
    return action, {name: html.unescape(value) for name, value in fields.items()}


def text(response):
    return response.get_data(as_text=True)


def request_code(flow, phone=PHONE, **kw):
    action, fields = form_of(text(flow.get("/register")))
    assert action == "/register/code"
    fields["phone"] = phone
    return flow.post(action, data=fields, **kw)


def latest_code(flow, e164=E164):
    page = text(flow.get("/dev/sms-outbox"))
    rows = re.findall(r'<td class="sms-to">([^<]+)</td><td class="sms-text">([^<]+)</td>', page)
    for to, body in rows:  # newest first
        if to == e164:
            return re.search(r"(?<!\d)(\d{6})(?!\d)", body).group(1)
    raise AssertionError(f"no message to {e164} in the outbox")


def submit(flow, page, code, password=NEW_PASSWORD, confirm=None, name="李四", phone=E164):
    action, fields = form_of(text(page))
    assert action == "/register"
    fields.update(phone=phone, code=code, password=password, name=name,
                  password_confirm=password if confirm is None else confirm)
    return flow.post(action, data=fields)


def error_of(response):
    match = re.search(r'<p class="error" role="alert" id="form-error">([^<]*)</p>',
                      text(response))
    return match and match.group(1).replace("&#39;", "'")


def events(app, action):
    with app.app_context():
        return AuditEvent.query.filter_by(action=action).all()


def test_the_forms_follow_the_contract(browser):
    page = text(browser.get("/register"))
    assert 'autocomplete="tel"' in page
    assert '<label for="phone">Mobile number</label>' in page
    assert re.search(r'<input type="hidden" name="csrf_token" value="[^"]+">', page)
    page = text(request_code(browser))
    for attribute in ('autocomplete="one-time-code"', 'autocomplete="new-password"',
                      'autocomplete="tel"', 'for="code"', 'for="password"',
                      'for="password_confirm"', 'for="name"'):
        assert attribute in page
    assert page.count('name="csrf_token"') == 2  # register, and send a new code


def test_register_with_a_code_from_the_outbox(app, browser):
    page = request_code(browser)
    assert page.status_code == 200
    assert SENT in text(page)
    done = submit(browser, page, latest_code(browser))
    assert done.status_code == 303
    assert done.headers["Location"] == "/account"
    cookie = browser.http.get_cookie("idp_sso")
    assert cookie is not None and cookie.value
    assert "HttpOnly" in done.headers["Set-Cookie"] or any(
        "HttpOnly" in h for h in done.headers.getlist("Set-Cookie"))
    with app.app_context():
        user = User.query.filter_by(phone=E164).one()
        assert user.phone_verified is True and user.name == "李四"
        assert user.password_hash and NEW_PASSWORD not in user.password_hash
        user_id = user.id
    [event] = events(app, "account.registered")
    assert event.user_id == user_id and event.outcome == "success"


def test_the_new_account_can_log_in_with_its_password(app, browser):
    page = request_code(browser)
    submit(browser, page, latest_code(browser))
    with app.app_context():
        from idp.accounts import service

        result = service.authenticate("13987654321", NEW_PASSWORD)
        user = getattr(result, "user", result)  # LoginResult or the user
        assert user is not None and user.phone == E164


def test_next_returns_to_the_authorization_request(browser):
    target = "/authorize?client_id=abc&ui_locales=en&state=s1"
    page = browser.get("/register", query_string={"next": target})
    action, fields = form_of(text(page))
    assert fields["next"] == target
    fields["phone"] = PHONE
    page = browser.post(action, data=fields)
    assert SENT in text(page)
    done = submit(browser, page, latest_code(browser))
    assert done.status_code == 303 and done.headers["Location"] == target


@pytest.mark.parametrize("target", ["https://evil.example/authorize", "//evil.example/authorize",
                                    "/account/../authorize\\x", "/logout", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_an_unsafe_next_is_ignored(browser, target):
    page = browser.get("/register", query_string={"next": target})
    assert 'name="next"' not in text(page)
    action, fields = form_of(text(page))
    fields.update(phone=PHONE, next=target)
    page = browser.post(action, data=fields)
    _action, fields = form_of(text(page))
    fields.update(phone=E164, code=latest_code(browser), password=NEW_PASSWORD,
                  password_confirm=NEW_PASSWORD, next=target)
    done = browser.post("/register", data=fields)
    assert done.status_code == 303 and done.headers["Location"] == "/account"


def test_a_wrong_code_is_refused_and_the_right_one_still_works(browser):
    page = request_code(browser)
    code = latest_code(browser)
    wrong = "000000" if code != "000000" else "111111"
    refused = submit(browser, page, wrong)
    assert refused.status_code == 400
    assert error_of(refused) == WRONG_CODE
    assert browser.http.get_cookie("idp_sso") is None
    assert submit(browser, refused, code).status_code == 303


def test_an_expired_code_is_refused(browser):
    with freeze_time("2026-05-01 12:00:00") as frozen:
        page = request_code(browser)
        code = latest_code(browser)
        frozen.tick(301)
        refused = submit(browser, page, code)
    assert refused.status_code == 400
    assert error_of(refused) == WRONG_CODE


def test_a_code_works_once(app, browser):
    page = request_code(browser)
    code = latest_code(browser)
    assert submit(browser, page, code).status_code == 303
    again = submit(browser, page, code)
    assert again.status_code == 400 and error_of(again) == WRONG_CODE
    with app.app_context():
        assert User.query.filter_by(phone=E164).count() == 1


def test_five_wrong_tries_kill_the_code(browser):
    page = request_code(browser)
    code = latest_code(browser)
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c != code]
    for guess in wrong[:5]:
        assert error_of(submit(browser, page, guess)) == WRONG_CODE
    dead = submit(browser, page, code)  # the sixth try, right this time, comes too late
    assert dead.status_code == 400 and error_of(dead) == WRONG_CODE


def test_four_wrong_tries_leave_the_code_alive(browser):
    page = request_code(browser)
    code = latest_code(browser)
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444") if c != code]
    for guess in wrong[:4]:
        assert submit(browser, page, guess).status_code == 400
    assert submit(browser, page, code).status_code == 303


def test_a_new_code_replaces_the_previous_one(browser):
    with freeze_time("2026-05-01 12:00:00") as frozen:
        page = request_code(browser)
        first = latest_code(browser)
        frozen.tick(61)
        page = request_code(browser)
        second = latest_code(browser)
        if first != second:
            assert error_of(submit(browser, page, first)) == WRONG_CODE
        assert submit(browser, page, second).status_code == 303


def test_one_code_a_minute_per_number(browser):
    assert request_code(browser).status_code == 200
    again = request_code(browser)
    assert again.status_code == 429
    assert again.headers["Retry-After"] == "60"
    assert error_of(again) == ("A code was sent to this number a moment ago. Wait 60 seconds "
                               "before asking for another one.")
    # the code already sent still works from this page
    assert submit(browser, again, latest_code(browser)).status_code == 303


@pytest.mark.config(SMS_PHONE_INTERVAL=0)
def test_five_codes_an_hour_per_number(browser):
    for _ in range(5):
        assert request_code(browser).status_code == 200
    refused = request_code(browser)
    assert refused.status_code == 429
    assert error_of(refused) == "Too many codes have been requested. Try again in 60 minutes."
    assert int(refused.headers["Retry-After"]) > 3500
    # another number from the same address is not held back by this one's limit
    assert request_code(browser, phone="13800138001").status_code == 200


@pytest.mark.config(SMS_IP_PER_HOUR=2)
def test_codes_per_client_address(browser):
    assert request_code(browser, phone="13800138001").status_code == 200
    assert request_code(browser, phone="13800138002").status_code == 200
    refused = request_code(browser, phone="13800138003")
    assert refused.status_code == 429
    assert error_of(refused) == "Too many codes have been requested. Try again in 60 minutes."
    # the refused number is not held back once another address asks
    other = request_code(browser, phone="13800138003", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200 and SENT in text(other)


@pytest.mark.parametrize("password", ["password123", "WoAiNi1314", "Qwerty123", "11111111",
                                      "1qaz2wsx"])
def test_a_common_password_is_refused(app, browser, password):
    page = request_code(browser)
    refused = submit(browser, page, latest_code(browser), password=password)
    assert refused.status_code == 400
    assert error_of(refused) == ("This password is too common and easy to guess. Choose "
                                 "another one.")
    with app.app_context():
        assert User.query.filter_by(phone=E164).count() == 0
    # the code was not used up by a form error
    assert submit(browser, refused, latest_code(browser)).status_code == 303


@pytest.mark.parametrize("password", ["my87654321pass", "13987654321", "+86-139-8765-4321x",
                                      "x8613987654321"])
def test_a_password_holding_the_phone_number_is_refused(browser, password):
    page = request_code(browser)
    refused = submit(browser, page, latest_code(browser), password=password)
    assert refused.status_code == 400
    assert error_of(refused) == "The password must not contain your phone number."


def test_short_long_and_mismatched_passwords(browser):
    page = request_code(browser)
    code = latest_code(browser)
    short = submit(browser, page, code, password="Ab3$xyz")
    assert error_of(short) == "The password must have at least 8 characters."
    long = submit(browser, page, code, password="x" * 129)
    assert error_of(long) == "The password must have at most 128 characters."
    mismatch = submit(browser, page, code, confirm=NEW_PASSWORD + "!")
    assert error_of(mismatch) == "The two passwords do not match."
    assert submit(browser, page, code).status_code == 303


def test_an_existing_number_learns_nothing_until_the_code(app, browser):
    with app.app_context():
        f.user(phone=PHONE)
    page = request_code(browser)
    assert page.status_code == 200 and SENT in text(page)  # the same answer as a new number
    taken = submit(browser, page, latest_code(browser))
    assert taken.status_code == 409
    assert error_of(taken) == TAKEN
    assert browser.http.get_cookie("idp_sso") is None
    with app.app_context():
        assert User.query.filter_by(phone=E164).count() == 1
    [event] = events(app, "account.registration_refused")
    assert event.outcome == "failure" and event.detail == {"reason": "phone_taken"}


@pytest.mark.parametrize("phone", ["12345", "1380013800", "010 12345678", "not a number",
                                   "+999 1234"])
def test_an_invalid_or_landline_number_is_refused(browser, phone):
    refused = request_code(browser, phone=phone)
    assert refused.status_code == 400
    assert error_of(refused) == "Enter a valid mobile phone number."


def test_numbers_outside_the_mainland_need_their_country_code(app, browser):
    page = request_code(browser, phone="+852 5123 4567")
    assert page.status_code == 200
    assert submit(browser, page, latest_code(browser, "+85251234567"),
                  phone="+85251234567").status_code == 303
    with app.app_context():
        assert User.query.filter_by(phone="+85251234567").one().phone_verified


def test_forms_without_the_csrf_token_are_refused(browser):
    refused = browser.post("/register/code", data={"phone": PHONE})
    assert refused.status_code == 400
    refused = browser.post("/register", data={"phone": PHONE, "code": "123456"})
    assert refused.status_code == 400


def test_a_malformed_code_does_not_use_up_a_try(browser):
    page = request_code(browser)
    for bad in ("", "12345", "1234567", "abcdef"):
        refused = submit(browser, page, bad)
        assert error_of(refused) == "Enter the 6-digit code from the text message."
    assert submit(browser, page, latest_code(browser)).status_code == 303


def test_the_text_follows_the_page_language(client):
    flow = Flow(client)
    request_code(flow)  # no language chosen: Chinese
    zh = re.findall(r'<td class="sms-text">([^<]+)</td>', text(flow.get("/dev/sms-outbox")))[0]
    assert re.fullmatch(r"【统一身份认证】您的验证码是\d{6}，5分钟内有效。请勿告诉他人。", zh)
    flow.get("/register?lang=en")
    request_code(flow, phone="13800138001")
    en = re.findall(r'<td class="sms-text">([^<]+)</td>', text(flow.get("/dev/sms-outbox")))[0]
    assert re.fullmatch(r"\[Unified Identity Authentication\] Your verification code is \d{6}\. "
                        r"It is valid for 5 minutes\. Do not share it with anyone\.", en)


def test_ui_locales_of_the_login_carry_over(client):
    flow = Flow(client)
    page = flow.get("/register", query_string={"next": "/authorize?ui_locales=en"})
    assert "Create an account" in text(page)


def test_the_pages_speak_chinese_by_default(client):
    flow = Flow(client)
    page = text(flow.get("/register"))
    assert "注册账号" in page and "手机号码" in page and "发送验证码" in page
    page = text(request_code(flow))
    assert "如果该号码可以注册，验证码短信即将发出。验证码5分钟内有效。" in page
