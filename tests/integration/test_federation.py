"""Logins through a regional identity provider (identity brokering), against a second
instance of this provider started by the test: first logins (an account created, or an
existing one linked after logging in to it), later logins straight through, the level each
login counts for, answers that are forged, replayed or mixed up, and providers that are
disabled or down."""

import pytest

from tests import factories as f
from tests.conftest import ISSUER
from tests.upstream import Citizen
from tests.upstream import federated_form
from tests.upstream import path_of
from tests.upstream import regional
from tests.upstream import upstream_form


@pytest.fixture
def zj(app, tmp_path):
    with regional(tmp_path, ISSUER) as provider:
        provider.register_at(app)
        yield provider


def platform(app, **policy):
    with app.app_context():
        return f.rp(name="社保服务平台", **policy)


def start(flow, cid, slug="zj", **params):
    """From the platform's request to the regional provider's authorization URL."""
    verifier, challenge = f.pkce()
    params = f.authorize_params(cid, challenge, **params)
    page = flow.follow(flow.start(params))
    action, fields = upstream_form(page.get_data(as_text=True))
    response = flow.post(action, data={**fields, "upstream": slug})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    return response.headers["Location"], params, verifier


def test_first_login_creates_an_account(app, client, zj):
    cid, _secret = platform(app)
    flow = f.Flow(client)
    url, params, verifier = start(flow, cid)
    callback = Citizen(zj).log_in(url)
    page = flow.follow(flow.get(path_of(callback)))
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html[:1500]
    print(html)
    action, fields = federated_form(html)
    page = flow.follow(flow.post(action, data={**fields, "federated": "create"}))
    print(page.status_code, page.get_data(as_text=True)[:3000])
