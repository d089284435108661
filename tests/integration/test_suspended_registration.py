"""A suspended platform cannot change its own registration (RFC 7592 2.2: 403).

The attack review found that an approved, self-registered platform whose change of redirect
URIs goes back to review while it is active could make the same change while suspended: it
stayed suspended, and the operator's ``idp clients activate`` then brought the unreviewed
redirect URIs into use."""

from clients import service
from tests import factories as f
from tests.integration.test_dynamic_registration import issue_iat
from tests.integration.test_dynamic_registration import manage
from tests.integration.test_dynamic_registration import register

SUSPENDED = {"error": "access_denied", "error_description": (
    "This client is suspended: its registration cannot change until an operator activates it "
    "again.")}


def test_a_suspended_client_cannot_change_its_redirect_uris(app, client):
    _id, token = issue_iat(app)
    body = register(client, token, {"client_name": "税务平台", "subject_type": "public",
                                    "redirect_uris": ["https://tax.gov.example/cb"]}).get_json()
    cid, rat = body["client_id"], body["registration_access_token"]
    with app.app_context():
        service.set_status(cid, "active", actor="admin:1")
        service.set_status(cid, "suspended", actor="admin:1", reason="investigation")
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "税务平台",
                                         "subject_type": "public",
                                         "redirect_uris": ["https://evil.example/cb"]})
    assert r.status_code == 403 and r.get_json() == SUSPENDED
    assert r.headers["Cache-Control"] == "no-store"
    assert manage(client, "GET", cid, rat).get_json()["redirect_uris"] == [
        "https://tax.gov.example/cb"]  # it may still read its registration
    with app.app_context():
        service.set_status(cid, "active", actor="admin:1")
        assert service.client_row(cid).redirect_uris == ["https://tax.gov.example/cb"]


def test_a_pending_client_may_still_change_its_registration(app, client):
    """Nothing it changes is in use before a registrar approves it."""
    _id, token = issue_iat(app)
    body = register(client, token).get_json()
    cid, rat = body["client_id"], body["registration_access_token"]
    r = manage(client, "PUT", cid, rat, {"client_id": cid, "client_name": "税务平台",
                                         "redirect_uris": [f.REDIRECT_URI + "/2"]})
    assert r.status_code == 200 and r.get_json()["status"] == "pending"
