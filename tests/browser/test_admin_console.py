"""The admin console in a real browser: an administrator with an authenticator app logs in,
registers a client, rotates its secret (each shown once) and suspends it.

Elements are found by id and form action rather than by text, so the test holds in either
language."""

import re

import requests

from tests.integration.test_admin_api import make_staff

WAIT_MS = 15_000


def token_status(base, client_id, secret):
    r = requests.post(base + "/token", auth=(client_id, secret), timeout=10,
                      data={"grant_type": "client_credentials", "scope": "reports"})
    return r.status_code


def test_an_administrator_registers_rotates_and_suspends_a_client(live, page):
    app, base = live
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    _uid, codes = make_staff(app, "13900139000", "client_registrar")

    page.goto(base + "/admin")
    page.locator("#username").fill("13900139000")
    page.locator("#password").fill("S3cure-Passw0rd!")
    page.locator("#password").press("Enter")
    page.locator("#totp-code").fill(codes.next())
    page.locator("#totp-code").press("Enter")
    page.wait_for_url(base + "/admin")

    page.goto(base + "/admin/clients/new")
    page.locator("#client_name").fill("住房公积金平台")
    page.locator("#redirect_uris").fill("https://fund.gov.example/cb")
    page.check("input[name=grant_types][value=client_credentials]")
    page.locator("#scope").fill("openid profile reports")
    page.locator("form[action$='/admin/clients/new'] button[type=submit]").click()
    secret = page.locator("#secret").inner_text().strip()
    client_id = page.locator("#client-id").inner_text().strip()
    assert token_status(base, client_id, secret) == 200

    page.goto(f"{base}/admin/clients/{client_id}")
    assert secret not in page.content()
    page.locator("form[action$='/rotate-secret'] button").click()
    page.wait_for_url(re.compile(r".*/rotate-secret$"))
    new_secret = page.locator("#secret").inner_text().strip()
    assert new_secret and new_secret != secret
    assert token_status(base, client_id, new_secret) == 200

    page.goto(f"{base}/admin/clients/{client_id}")
    page.locator("#reason").fill("contract ended")
    page.locator("button[name=action][value=suspend]").click()
    page.wait_for_url(f"{base}/admin/clients/{client_id}")
    assert "contract ended" in page.locator("#client-status").inner_text()
    assert page.locator("button[name=action][value=activate]").count() == 1
    assert token_status(base, client_id, new_secret) == 401
