"""Token requests use cached client records, yet a change to a client takes effect at once."""

import fakeredis
import pytest

from clients.models import Client
from idp.extensions import db
from idp.store import RedisStore
from tests import factories as f


@pytest.fixture
def shared_app(app):
    """The app with a shared (Redis-protocol) store, as in production."""
    if not isinstance(app.extensions["idp.store"], RedisStore):
        app.extensions["idp.store"] = RedisStore(fakeredis.FakeRedis(), prefix="cache-test:")
    return app


def test_suspension_and_new_secret_take_effect_at_once(shared_app, client):
    with shared_app.app_context():
        cid, secret = f.rp(grant_types=("client_credentials",), redirect_uris=(), scope="api")

    def token(secret):
        return client.post("/token", data={"grant_type": "client_credentials"},
                           auth=(cid, secret))

    assert token(secret).status_code == 200
    assert cid in shared_app.extensions["idp.client_cache"]._items  # served from the copy now
    assert token(secret).status_code == 200
    with shared_app.app_context():
        Client.query.filter_by(client_id=cid).one().status = "suspended"
        db.session.commit()
    assert token(secret).get_json()["error"] == "invalid_client"
    with shared_app.app_context():
        row = Client.query.filter_by(client_id=cid).one()
        row.status = "active"
        from clients.service import new_secret

        fresh = new_secret(row)
    assert token(secret).get_json()["error"] == "invalid_client"
    assert token(fresh).status_code == 200


def test_records_are_read_only(shared_app):
    with shared_app.app_context():
        cid, _ = f.rp()
        from clients.service import get_client

        record = get_client(cid)
        with pytest.raises(AttributeError):
            record.status = "active"
