"""Guesses sent at once, or under other spellings, count like guesses sent one by one.

The attack review found the brute-force limits counted by reading a number, adding one and
writing it back, after the guess was checked: 20 wrong TOTP codes posted at once to one login
were all checked (the limit is 5) and left the account's count at 5 (it locks at 10); 13 wrong
passwords at once left ``failed_logins`` at 1. The password delay was kept per identifier as
typed, so each spelling of a mobile number (``139…``, ``+86 139…``, ``139-…``) had a delay of
its own. Now an answer is counted before it is checked, atomically, and the delay belongs to
the account."""

import re
import threading

import pyotp
import pytest
from freezegun import freeze_time

from idp.accounts.models import User
from idp.audit.models import AuditEvent
from idp.extensions import db
from mfa import totp
from tests import factories as f
from tests.conftest import make_app

PHONE = "13800138000"


@pytest.fixture
def shared_app(app, database_url, tmp_path):
    """An app whose database every thread shares: PostgreSQL, or a SQLite file."""
    if database_url:
        yield app
        return
    shared = make_app(f"sqlite:///{tmp_path / 'guessing.db'}")
    yield shared
    with shared.app_context():
        db.engine.dispose()


@pytest.fixture
def rp(shared_app):
    with shared_app.app_context():
        f.user()
        return f.rp()


def _at_once(posts):
    """Run the ``posts`` (callables) in threads released together; their responses."""
    barrier = threading.Barrier(len(posts))
    results = [None] * len(posts)

    def run(i):
        barrier.wait()
        results[i] = posts[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _browser_copy(app, flow):
    """Another connection of the same browser (its cookies), for a parallel request."""
    copy = f.Flow(app.test_client(), base_url=flow.base_url)
    for name in ("idp_csrf", "idp_sso"):
        cookie = flow.http.get_cookie(name)
        if cookie is not None:
            copy.http.set_cookie(name, cookie.value)
    return copy


def _second_factor_page(app, rp):
    flow = f.Flow(app.test_client())
    page = flow.login(flow.follow(flow.start(f.authorize_params(rp[0], f.pkce()[1]))))
    html = page.get_data(as_text=True)
    action = re.search(r'action="([^"]*/mfa/totp)"', html).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return flow, action, token


def _wrong_codes(app, flow, action, token, count):
    def post(copy):
        return lambda: copy.post(action, data={"csrf_token": token, "code": "000000"})
    return [post(_browser_copy(app, flow)) for _ in range(count)]


def _checked_codes(app):
    """Wrong answers that were checked (not refused before their check)."""
    with app.app_context():
        events = AuditEvent.query.filter_by(action="mfa.failure").all()
        return sum(1 for e in events if e.detail.get("reason") != "too_many")


def _enrol_totp(app):
    with app.app_context():
        factor, _uri, _svg, _text = totp.begin_enrolment(User.query.one(), "手机")
        factor.confirmed = True
        db.session.commit()


def test_wrong_codes_sent_at_once_to_one_login_are_checked_five_times_at_most(shared_app, rp):
    app = shared_app
    _enrol_totp(app)
    flow, action, token = _second_factor_page(app, rp)
    answers = _at_once(_wrong_codes(app, flow, action, token, 12))
    assert all(r.status_code in (401, 403) for r in answers), [r.status_code for r in answers]
    assert _checked_codes(app) <= 5
    assert [r.status_code for r in answers].count(401) == 4  # the fifth ends the login
    with app.app_context():
        user = User.query.one()  # the five the login allowed count for the account
        assert user.failed_factors == 5 and user.status == "active"


def test_wrong_codes_sent_at_once_across_logins_lock_the_account_at_ten(shared_app, rp):
    app = shared_app
    _enrol_totp(app)
    posts = []
    for _ in range(4):
        flow, action, token = _second_factor_page(app, rp)
        posts += _wrong_codes(app, flow, action, token, 4)
    _at_once(posts)
    assert _checked_codes(app) <= 10
    with app.app_context():
        user = User.query.one()
        assert user.status == "locked" and user.failed_factors == 16
        locks = AuditEvent.query.filter_by(action="account.locked").all()
        assert len(locks) == 1 and locks[0].detail["reason"] == "second_factor"


def test_wrong_passwords_sent_at_once_are_each_counted(shared_app, rp):
    """Twelve wrong passwords at once: one attempt at a time is checked, at most three before
    the delay (the rest are told to wait), and every one checked counts toward the
    lockout."""
    app = shared_app
    pages = []
    for _ in range(12):
        flow = f.Flow(app.test_client())
        page = flow.follow(flow.start(f.authorize_params(rp[0], f.pkce()[1])))
        action, fields = f.form_of(page.get_data(as_text=True))
        pages.append((flow, action, {**fields, "username": PHONE, "password": "wrong-pass"}))
    with freeze_time():
        answers = _at_once([lambda p=p: p[0].post(p[1], data=p[2]) for p in pages])
    statuses = [r.status_code for r in answers]
    checked = statuses.count(401)
    assert 1 <= checked <= 3 and statuses.count(429) == 12 - checked, statuses
    with app.app_context():
        assert User.query.one().failed_logins == checked
        assert AuditEvent.query.filter_by(action="login.failure").count() == checked


SPELLINGS = ("13800138000", "+8613800138000", "8613800138000", "138 0013 8000",
             "138-0013-8000", "+86 138 0013 8000")


def test_every_spelling_of_a_number_shares_its_delay(app):
    with app.app_context():
        f.user()
        cid, _ = f.rp()
    flow = f.Flow(app.test_client())
    with freeze_time() as frozen:
        page = flow.follow(flow.start(f.authorize_params(cid, f.pkce()[1])))
        statuses = [flow.login(page, username=spelling, password="wrong-pass").status_code
                    for spelling in SPELLINGS[:4]]
        assert statuses == [401, 401, 401, 429]
        r = flow.login(page, username=SPELLINGS[5])  # even the right password waits
        assert r.status_code == 429 and "秒后再试" in r.get_data(as_text=True)
        frozen.tick(3)
        r = flow.login(page, username=SPELLINGS[4])
        assert 'name="decision"' in r.get_data(as_text=True)


def test_after_a_factor_lock_runs_out_one_answer_is_checked_again(app):
    """Counting before checking must not make the lock endless: once it has run out, the
    next answer is checked — a right one gets in, a wrong one locks the account again at
    once (as after a password lock)."""
    with app.app_context():
        f.user()
        rp = f.rp()
    with app.app_context(), freeze_time("2026-12-01 07:00:00"):
        factor, _uri, _svg, text = totp.begin_enrolment(User.query.one(), "手机")
        app_totp = pyotp.TOTP(text.replace(" ", ""))
        assert totp.confirm(factor, app_totp.now())
    with freeze_time("2026-12-01 08:00:00") as frozen:
        for _ in range(2):
            flow, action, token = _second_factor_page(app, rp)
            for _ in range(5):
                last = flow.post(action, data={"csrf_token": token, "code": "000000"})
        assert last.status_code == 403 and "已被锁定" in last.get_data(as_text=True)
        frozen.tick(31 * 60)
        flow, action, token = _second_factor_page(app, rp)
        r = flow.follow(flow.post(action, data={"csrf_token": token, "code": "000000"}))
        assert r.status_code == 403 and "已被锁定" in r.get_data(as_text=True)
        frozen.tick(31 * 60)
        flow, action, token = _second_factor_page(app, rp)
        r = flow.follow(flow.post(action, data={"csrf_token": token, "code": app_totp.now()}))
        assert 'name="decision"' in r.get_data(as_text=True)
    with app.app_context():
        assert User.query.one().failed_factors == 0
