"""Logout everywhere, in headless Chromium, with two platforms in one browser session: Apache
with Debian's mod_auth_openidc, and a small relying party written against the specifications
(``python_rp``). Single sign-on, then an RP-initiated logout at one of them; the other
receives a back-channel logout token, verifies it (signature against the JWKS, ``typ``, the
logout event, no ``nonce``) and its session ends. Each platform has a cookie of its own:
cookies are per host, not per port (NOTES.md)."""

import time

import pytest

from idp.logout.models import LogoutDelivery
from idp.logout.service import deliver_due
from tests import factories as f
from tests.browser.apache_rp import ApachePlatform
from tests.browser.apache_rp import available
from tests.browser.apache_rp import free_port
from tests.browser.python_rp import PythonPlatform


@pytest.fixture
def platforms(live):
    reason = available()
    if reason:
        pytest.skip(reason)
    app, base = live
    python = PythonPlatform(base).start()
    apache = ApachePlatform(free_port())
    with app.app_context():
        f.user()
        python.client_id, python.client_secret = f.rp(
            name="社保平台", redirect_uris=(python.redirect_uri,), scope="openid",
            post_logout_redirect_uris=[python.post_logout_redirect_uri],
            backchannel_logout_uri=python.backchannel_logout_uri,
            frontchannel_logout_uri=python.frontchannel_logout_uri)
        apache_id, apache_secret = f.rp(
            name="税务平台", redirect_uris=(apache.redirect_uri,), scope="openid",
            post_logout_redirect_uris=[apache.post_logout_redirect_uri],
            backchannel_logout_uri=apache.backchannel_logout_uri)
    try:
        with apache.running(base, apache_id, apache_secret, cookie="tax_session"):
            yield app, base, python, apache
    finally:
        python.stop()


def log_in(page, start_url, base):
    """Go to a platform's protected page and through the provider: the password if it asks
    (single sign-on: it does not the second time), then consent."""
    page.goto(start_url)
    if page.url.startswith(base) and page.locator('input[autocomplete="username"]').count():
        page.fill('input[autocomplete="username"]', "13800138000")
        page.fill('input[autocomplete="current-password"]', f.PASSWORD)
        page.locator('input[autocomplete="current-password"]').press("Enter")
        page.wait_for_load_state()
    if page.url.startswith(base) and page.locator('button[name="decision"]').count():
        page.click('button[name="decision"][value="allow"]')
        page.wait_for_load_state()
    assert "logged in as" in page.locator("#who").inner_text(), page.url


def wait_for(condition, what, seconds=15, seen=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}" + (f" ({seen()})" if seen else ""))


def statuses(app):
    """Each delivery's (status, last HTTP status), after a pass of the worker that production
    runs beside the web processes, its clock at the first retry: a first attempt that timed
    out on a loaded machine is tried again (a refusal stays a refusal; an attempt in flight
    holds its lease beyond that, so nothing is sent twice)."""
    with app.app_context():
        deliver_due(time.time() + app.config["LOGOUT_RETRY_BASE"])
        return {row.client_id: (row.status, row.last_status) for row in LogoutDelivery.query}


def at_login_page(page, base):
    return page.url.startswith(base + "/interaction/") and page.locator(
        'input[autocomplete="current-password"]').count() == 1


def test_logout_at_the_apache_platform_ends_the_python_platforms_session(page, platforms):
    app, base, python, apache = platforms
    log_in(page, python.base + "/login", base)
    log_in(page, apache.base + "/protected/", base)  # single sign-on: consent only
    sid = next(iter(python.sessions.values()))["sid"]

    page.goto(apache.logout_url())  # mod_auth_openidc -> end_session_endpoint -> back
    page.wait_for_url(apache.post_logout_redirect_uri + "*")
    assert page.locator("#bye").inner_text() == "logged out"
    # front-channel: the provider's page loaded the platform's page in a frame on the way
    assert python.frontchannel == [(base, sid)]
    # back-channel: both platforms, the one that started the logout included
    wait_for(lambda: len(python.logout_tokens) == 1, "the python platform's logout token")
    assert python.refused == []
    claims = python.logout_tokens[0]
    assert claims["sid"] == sid and claims["aud"] == python.client_id
    wait_for(lambda: len(statuses(app)) == 2 and all(
        s == ("delivered", 200) for s in statuses(app).values()), "both deliveries",
        seen=lambda: statuses(app))

    page.goto(python.base + "/me")
    assert page.locator("#who").inner_text() == "not logged in"
    page.goto(apache.base + "/protected/")  # the provider asks for the password again
    assert at_login_page(page, base)


def test_logout_at_the_python_platform_ends_the_apache_session(page, platforms):
    app, base, python, apache = platforms
    log_in(page, apache.base + "/protected/", base)
    log_in(page, python.base + "/login", base)
    with app.app_context():
        from clients.models import Client

        apache_id = Client.query.filter_by(name="税务平台").one().client_id
    page.goto(python.base + "/logout")
    # the python platform has a front-channel page: the provider shows it, then goes on
    page.wait_for_url(python.post_logout_redirect_uri + "*")
    assert page.locator("#bye").inner_text() == "logged out (bye)"
    wait_for(lambda: statuses(app).get(apache_id) == ("delivered", 200),
             "mod_auth_openidc accepted its logout token", seen=lambda: statuses(app))
    # mod_auth_openidc found the session by sid and removed it
    assert "could not (or no longer) find a session" not in apache.log()
    page.goto(apache.base + "/protected/")
    assert at_login_page(page, base)
