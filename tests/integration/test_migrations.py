"""The schema comes from the migrations, and they match the models."""

import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from idp import create_app
from idp.extensions import db
from tests.conftest import ISSUER


def test_migrations_apply_from_empty_and_match_the_models(tmp_path, database_url):
    url = database_url or f"sqlite:///{tmp_path / 'm.db'}"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url, "ISSUER": ISSUER})
    with app.app_context():
        if not database_url:
            upgrade()  # PostgreSQL: the session fixture already upgraded this database
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], diff
        db.engine.dispose()


def test_no_create_all_outside_tests():
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    for package in ("idp", "clients", "mfa", "config"):
        for dirpath, _dirs, files in os.walk(os.path.join(root, package)):
            for name in files:
                if name.endswith(".py"):
                    with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                        assert "create_all(" not in fh.read(), name
