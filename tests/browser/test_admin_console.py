"""The admin console in a real browser: an administrator with an authenticator app logs in,
registers a client, rotates its secret (each shown once), suspends and activates it, locks
and unlocks a citizen, rotates the keys, issues an initial access token, gives a staff role
and deletes the client — and reloads every page that answers an act, proving that nothing
happened twice.

Elements are found by id and form action rather than by text, so the test holds in either
language."""

import re

import requests

from clients.models import Client
from clients.models import InitialAccessToken
from idp.accounts.models import User
from idp.admin.models import StaffRole
from idp.audit.models import AuditEvent
from idp.keys.models import SigningKey
from tests import factories as f
from tests.integration.test_admin_api import make_staff

WAIT_MS = 15_000


def token_status(base, client_id, secret):
    r = requests.post(base + "/token", auth=(client_id, secret), timeout=10,
                      data={"grant_type": "client_credentials", "scope": "reports"})
    return r.status_code


def count(app, model, **filters):
    with app.app_context():
        return model.query.filter_by(**filters).count()


def acts(app, action):
    return count(app, AuditEvent, action=action)


def reload_changes_nothing(page, app, counted):
    """Reload the page that answered an act; ``counted``: {what: (model or action, filters,
    expected)} must hold before and after."""
    def check():
        for what, (thing, filters, expected) in counted.items():
            found = acts(app, thing) if isinstance(thing, str) else count(app, thing, **filters)
            assert found == expected, (what, found, expected)

    check()
    url = page.url
    page.reload()
    assert page.url == url
    check()


def test_every_result_page_can_be_reloaded(live, page):
    app, base = live
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    uid, codes = make_staff(app, "13900139000", "super_admin")
    with app.app_context():
        citizen = f.user(phone="13800138000").id
        f.user(phone="13700137000", name="王五")

    page.goto(base + "/admin")
    page.locator("#username").fill("13900139000")
    page.locator("#password").fill("S3cure-Passw0rd!")
    page.locator("#password").press("Enter")
    page.locator("#totp-code").fill(codes.next())
    page.locator("#totp-code").press("Enter")
    page.wait_for_url(base + "/admin")

    # register a client: its secret is shown once
    page.goto(base + "/admin/clients/new")
    page.locator("#client_name").fill("住房公积金平台")
    page.locator("#redirect_uris").fill("https://fund.gov.example/cb")
    page.check("input[name=grant_types][value=client_credentials]")
    page.locator("#scope").fill("openid profile reports")
    page.locator("#client-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/admin/secrets/[^/]+$"))
    secret = page.locator("#secret").inner_text().strip()
    client_id = page.locator("#client-id").inner_text().strip()
    assert token_status(base, client_id, secret) == 200
    reload_changes_nothing(page, app, {"clients": (Client, {}, 1),
                                       "registered": ("client.registered", {}, 1)})
    assert page.locator("#already-shown").count() == 1 and secret not in page.content()

    # rotate its secret, after confirming: the new one shown once, the old one still works
    page.goto(f"{base}/admin/clients/{client_id}")
    assert secret not in page.content()
    page.locator("#client-rotate").click()
    page.locator("#confirm").click()
    page.wait_for_url(re.compile(r".*/admin/secrets/[^/]+$"))
    new_secret = page.locator("#secret").inner_text().strip()
    assert new_secret and new_secret != secret
    reload_changes_nothing(page, app, {"rotated": ("client.secret_rotated", {}, 1)})
    assert page.locator("#already-shown").count() == 1
    assert token_status(base, client_id, new_secret) == 200
    assert token_status(base, client_id, secret) == 200  # the overlap: not rotated twice

    # suspend (with a reason, after confirming), then activate
    page.goto(f"{base}/admin/clients/{client_id}")
    page.locator("#client-suspend").click()
    page.locator("#reason").fill("contract ended")
    page.locator("#confirm").click()
    page.wait_for_url(f"{base}/admin/clients/{client_id}")
    assert "contract ended" in page.locator("#client-status").inner_text()
    assert page.locator("#client-state").count() == 1
    reload_changes_nothing(page, app, {"suspended": ("client.suspended", {}, 1)})
    assert token_status(base, client_id, new_secret) == 401
    page.locator("button[name=action][value=activate]").click()
    page.wait_for_url(f"{base}/admin/clients/{client_id}")
    reload_changes_nothing(page, app, {"activated": ("client.activated", {}, 1)})
    assert token_status(base, client_id, new_secret) == 200

    # lock (after confirming) and unlock a citizen's account
    page.goto(f"{base}/admin/users/{citizen}")
    page.locator("#user-lock").click()
    page.locator("#reason").fill("reported stolen")
    page.locator("#confirm").click()
    page.wait_for_url(f"{base}/admin/users/{citizen}")
    reload_changes_nothing(page, app, {"locked": ("account.locked", {}, 1),
                                       "disabled": (User, {"status": "disabled"}, 1)})
    page.locator(f"form[action$='/users/{citizen}/unlock'] button").click()
    page.wait_for_url(f"{base}/admin/users/{citizen}")
    reload_changes_nothing(page, app, {"unlocked": ("account.unlocked", {}, 1),
                                       "disabled": (User, {"status": "disabled"}, 0)})

    # rotate the signing keys once
    page.goto(base + "/admin/keys")
    page.locator("#keys-rotate").click()
    page.locator("#confirm").click()
    page.wait_for_url(base + "/admin/keys")
    reload_changes_nothing(page, app, {"rotations": ("keys.rotated", {}, 1),
                                       "keys": (SigningKey, {}, 6)})

    # an initial access token, shown once
    page.goto(base + "/admin/initial-access-tokens")
    page.locator("#label").fill("社保局")
    page.locator("#iat-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/admin/secrets/[^/]+$"))
    token = page.locator("#secret").inner_text().strip()
    reload_changes_nothing(page, app, {"tokens": (InitialAccessToken, {}, 1),
                                       "issued": ("client.iat_issued", {}, 1)})
    assert token not in page.content()

    # give a staff role
    page.goto(base + "/admin/staff")
    page.locator("#phone").fill("13700137000")
    page.select_option("#role", "auditor")
    page.locator("#staff-grant button[type=submit]").click()
    page.wait_for_url(base + "/admin/staff")
    reload_changes_nothing(page, app, {"roles": (StaffRole, {"role": "auditor"}, 1),
                                       "granted": ("staff.role.granted", {}, 2)})

    # delete the client (after confirming)
    page.goto(f"{base}/admin/clients/{client_id}")
    page.locator("#client-delete").click()
    page.locator("#confirm").click()
    page.wait_for_url(base + "/admin/clients")
    reload_changes_nothing(page, app, {"clients": (Client, {}, 0),
                                       "deleted": ("client.deleted", {}, 1)})
    assert token_status(base, client_id, new_secret) == 401

    # the audit log: times in the browser's zone, details folded, actors by name
    page.goto(base + "/admin/audit")
    first = page.locator("#audit tbody tr").first
    moment = first.locator("time")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", moment.get_attribute("title"))
    assert first.locator("details").evaluate("d => d.open") is False
    assert "(+86139****9000)" in first.locator("td.actor").inner_text()
    assert page.locator("input[name=tz]").input_value() == page.evaluate(
        "Intl.DateTimeFormat().resolvedOptions().timeZone")
    overflow = page.evaluate("document.querySelector('main').scrollWidth"
                             " <= document.querySelector('main').clientWidth")
    assert overflow

    # and log out
    page.locator("#admin-logout button").click()
    page.wait_for_url(base + "/account/logged-out")
    page.goto(base + "/admin")
    assert page.locator("#password").count() == 1
