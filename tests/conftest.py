"""Fixtures: a fresh app per test, on the embedded default (in-memory SQLite, in-process
store) or, when ``IDP_TEST_DATABASE_URL`` / ``IDP_TEST_REDIS_URL`` are set, on PostgreSQL and
Redis. PostgreSQL gets a database of its own for the session, built by the migrations."""

import contextlib
import os
import threading
import uuid

import pytest
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from idp import create_app
from idp.extensions import db

PG_URL = os.environ.get("IDP_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("IDP_TEST_REDIS_URL")
ISSUER = "http://127.0.0.1:5000"


def _driver(url):
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextlib.contextmanager
def scratch_database():
    """A new, empty PostgreSQL database on the server of IDP_TEST_DATABASE_URL, dropped after
    use, so runs never see each other's rows (or keys sealed with another key)."""
    admin_url = make_url(_driver(PG_URL))
    name = f"idp_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url():
    """A URL for this test session's database, its schema built by the migrations."""
    if not PG_URL:
        yield None
        return
    with scratch_database() as url:
        _migrate(url)
        yield url


def _migrate(url):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "ISSUER": ISSUER})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()


def make_app(database_url, fresh=True, **overrides):
    """An app on ``database_url`` (in-memory SQLite when None); ``fresh`` empties the database
    (PostgreSQL) or creates the schema (SQLite) and makes new signing keys."""
    config = {"ENV_NAME": "testing", "ISSUER": ISSUER,
              "SQLALCHEMY_DATABASE_URI": database_url or "sqlite://",
              "REDIS_URL": REDIS_URL or "",
              # a namespace of its own: test runs sharing one Redis never see each other
              "REDIS_PREFIX": f"t-{uuid.uuid4().hex[:12]}:"}
    config.update(overrides)
    app = create_app(config)
    if not fresh:
        return app
    with app.app_context():
        if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            tables = ", ".join(t.name for t in db.metadata.sorted_tables)
            db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            db.session.commit()
        else:
            db.create_all()
        from idp.keys.service import rotate

        rotate()
    return app


@pytest.fixture
def app(database_url, request):
    """A fresh app. No app context stays pushed: each test-client request must get its own
    (and its own ``g``), as in production; tests use ``with app.app_context()`` for set-up."""
    marker = request.node.get_closest_marker("config")
    overrides = marker.kwargs if marker else {}
    app = make_app(database_url, **overrides)
    yield app
    if REDIS_URL:
        r = app.extensions["idp.store"]._r
        for key in r.scan_iter(match=app.config["REDIS_PREFIX"] + "*", count=500):
            r.delete(key)
    if database_url:
        with app.app_context():
            db.engine.dispose()


def serve_in_thread(server):
    """Serve a ``socketserver``-style ``server`` (a fake gateway, relay, registry) on a daemon
    thread; returns it."""
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return server


@pytest.fixture
def start_server():
    """``start_server(server)``: serve it for this test (``serve_in_thread``), then shut it
    down and close it."""
    servers = []

    def start(server):
        servers.append(serve_in_thread(server))
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def client(app):
    return app.test_client()


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**overrides): app configuration for this test")
