"""Brute-force defences: progressive delay per identifier, lockout per account, unlock by
time, and the state shared by every app instance (Redis + database)."""

from freezegun import freeze_time

from idp.accounts.models import User
from idp.audit.models import AuditEvent
from idp.extensions import db
from tests import factories as f
from tests.conftest import make_app


def login_page(flow, client_id):
    return flow.follow(flow.start(f.authorize_params(client_id, f.pkce()[1])))


def test_delay_grows_after_three_failures(app, client):
    with app.app_context():
        f.user()
        cid, _ = f.rp()
    flow = f.Flow(client)
    with freeze_time() as frozen:
        page = login_page(flow, cid)
        statuses = [flow.login(page, password="wrong-password").status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        r = flow.login(page)  # even the right password waits
        assert r.status_code == 429 and "秒后再试" in r.get_data(as_text=True)
        frozen.tick(3)
        assert 'name="decision"' in flow.login(page).get_data(as_text=True)


def test_unknown_identifiers_are_delayed_alike(app, client):
    with app.app_context():
        cid, _ = f.rp()
    flow = f.Flow(client)
    with freeze_time():
        page = login_page(flow, cid)
        statuses = [flow.login(page, username="13911112222", password="x" * 8).status_code
                    for _ in range(4)]
    assert statuses == [401, 401, 401, 429]




def test_lockout_after_ten_failures_is_told_only_with_the_right_password(app, client):
    with app.app_context():
        f.user()
        cid, _ = f.rp()
    flow = f.Flow(client)
    with freeze_time() as frozen:
        for _ in range(10):
            flow.login(login_page(flow, cid), password="wrong-password")
            frozen.tick(300)  # past each delay
        wrong = flow.login(login_page(flow, cid), password="wrong-password")
        assert wrong.status_code == 401 and "锁定" not in wrong.get_data(as_text=True)
        frozen.tick(300)
        right = flow.login(login_page(flow, cid))
        assert right.status_code == 403 and "已被锁定" in right.get_data(as_text=True)
        frozen.tick(30 * 60)
        r = flow.login(login_page(flow, cid))
        assert 'name="decision"' in r.get_data(as_text=True)  # unlocked by time
    with app.app_context():
        user = User.query.one()
        assert user.status == "active" and user.failed_logins == 0
        actions = [e.action for e in AuditEvent.query.order_by(AuditEvent.id)]
        assert actions.count("account.locked") == 1 and "login.success" in actions
        assert actions.count("login.failure") >= 11


def test_counters_are_shared_between_app_instances(app, database_url, tmp_path):
    url = database_url or f"sqlite:///{tmp_path / 'shared.db'}"
    shared = {"REDIS_URL": app.config["REDIS_URL"], "REDIS_PREFIX": app.config["REDIS_PREFIX"]}
    one = make_app(url, **shared)
    two = make_app(url, fresh=False, **shared)
    if not app.config["REDIS_URL"]:
        two.extensions["idp.store"] = one.extensions["idp.store"]  # stands in for Redis
    with one.app_context():
        f.user()
        cid, _ = f.rp()
    with freeze_time():
        flows = [f.Flow(one.test_client()), f.Flow(two.test_client())]
        pages = [login_page(fl, cid) for fl in flows]
        statuses = [flows[i % 2].login(pages[i % 2], password="wrong-password").status_code
                    for i in range(4)]
    assert statuses == [401, 401, 401, 429]
    with two.app_context():
        assert db.session.execute(db.select(User)).scalar_one().failed_logins == 3


def test_an_operator_unlocks_an_account(app):
    with app.app_context():
        user = f.user()
        user.status, user.locked_until, user.failed_logins = "locked", 2_000_000_000, 10
        db.session.commit()
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "unlock", "--phone", "13800138000"])
    assert r.exit_code == 0 and "unlocked +8613800138000" in r.output
    with app.app_context():
        user = User.query.one()
        assert user.status == "active" and user.failed_logins == 0
        assert AuditEvent.query.filter_by(action="account.unlocked").count() == 1
    r = runner.invoke(args=["users", "unlock", "--phone", "13900000000"])
    assert r.exit_code != 0 and "no account" in r.output
