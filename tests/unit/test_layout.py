"""The layout's promises, checked on the source: the login journey has one home, view modules
are nobody's library, and the dependency direction of ARCHITECTURE.md holds."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("idp", "clients", "mfa")


def imports():
    """(module path, imported module) for every import in the production packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        yield module, alias.name
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    yield module, node.module
                    for alias in node.names:
                        yield module, f"{node.module}.{alias.name}"


def test_only_the_accounts_views_and_the_factory_import_the_accounts_views():
    allowed = {"idp.__init__", "idp.accounts.views", "idp.accounts.second_factor",
               "idp.accounts.dev_outbox"}
    offenders = {module for module, target in imports()
                 if target.startswith("idp.accounts.views") and module not in allowed}
    assert offenders == set()


def test_domain_packages_never_import_the_protocol_layer():
    domain = ("clients", "mfa", "idp.accounts", "idp.realname", "idp.interaction",
              "idp.audit", "idp.keys", "idp.enterprise")
    offenders = {(module, target) for module, target in imports()
                 if module.startswith(domain) and target.startswith("idp.oauth")}
    assert offenders == set()


def test_the_journey_does_not_know_oauth():
    offenders = {(module, target) for module, target in imports()
                 if module.startswith("idp.interaction")
                 and target.split(".")[0] == "authlib"}
    assert offenders == set()
