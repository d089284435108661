"""The development legal-person registry: synthetic companies, real HTTP, the signed protocol
of ``idp.enterprise.registry``. Mounted by the development provider next to the citizen
registry (``/dev/registry/v1/enterprise/verify``), with the same secret and signature checks
(``idp.realname.devregistry.signed``). It is NOT a registry: it knows only the companies of a
CSV of made-up data (``DEV_REGISTRY_COMPANIES``, empty: the shipped ``dev_companies.csv``),
whose codes are built by the rule and whose representatives are the synthetic people.

    POST /v1/enterprise/verify  {credit_code, representative_name,
                                 representative_document_type, representative_document_number}
        -> {result: match | mismatch | not_found, transaction_id[, name, entity_type, status]}

"match" needs the representative's document and name (compared as the citizen registry
compares names) to be the company's. It answers 404 everywhere in production.
"""

import csv
import logging
import os
import threading
import uuid

from flask import Blueprint
from flask import current_app

from idp.enterprise import codes
from idp.enterprise.models import ENTERPRISE_STATES
from idp.realname import devregistry as people
from idp.realname.documents import DocumentError
from idp.realname.documents import parse as parse_document

log = logging.getLogger(__name__)

DEFAULT_COMPANIES = os.path.join(os.path.dirname(__file__), "dev_companies.csv")
COLUMNS = {"credit_code", "name", "entity_type", "status", "representative_name",
           "representative_doc_type", "representative_number"}

bp = Blueprint("dev_enterprise_registry", __name__)
bp.before_request(people._development_only)


def load_companies(path=None) -> dict:
    """``{credit_code: row}`` from the CSV (``#`` lines are comments); a bad or repeated row is
    a ``ValueError`` naming its line."""
    path = path or DEFAULT_COMPANIES
    with open(path, encoding="utf-8-sig", newline="") as fh:
        lines = [(n, line) for n, line in enumerate(fh, 1)
                 if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(line for _n, line in lines)
    missing = COLUMNS - set(reader.fieldnames or ())
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    companies = {}
    for index, row in enumerate(reader, 1):
        where = f"{path}, line {lines[index][0] if index < len(lines) else '?'}"
        try:
            code = codes.parse(row["credit_code"] or "").code
            document = parse_document((row["representative_doc_type"] or "").strip(),
                                      row["representative_number"] or "")
        except (codes.CreditCodeError, DocumentError) as exc:
            raise ValueError(f"{where}: {exc.code}") from None
        if row["entity_type"] not in codes.ENTITY_TYPES or row["status"] not in (
                ENTERPRISE_STATES) or not (row["name"] or "").strip():
            raise ValueError(f"{where}: a name, a known entity type and status are needed")
        if code in companies:
            raise ValueError(f"{where}: the same credit code twice")
        companies[code] = {"name": row["name"].strip(), "entity_type": row["entity_type"],
                           "status": row["status"],
                           "representative": (document.doc_type, document.number,
                                              people.normalise_name(row["representative_name"]))}
    return companies


_lock = threading.Lock()


def _companies():
    path = current_app.config.get("DEV_REGISTRY_COMPANIES") or DEFAULT_COMPANIES
    state = current_app.extensions.setdefault("idp.dev_enterprise_registry", {})
    with _lock:
        if state.get("path") != path:
            state.update(path=path, companies=load_companies(path))
        return state["companies"]


@bp.post("/v1/enterprise/verify")
@people.signed
def verify():
    values = people._fields("credit_code", "representative_name",
                            "representative_document_type", "representative_document_number")
    if values is None:
        return people._error("invalid_request", 400)
    code, name, doc_type, number = values
    transaction_id = "dev-" + uuid.uuid4().hex
    company = _companies().get(code.strip().upper())
    if company is None:
        log.info("dev legal-person registry: not_found (transaction %s)", transaction_id)
        return people._answer({"result": "not_found", "transaction_id": transaction_id})
    given = (doc_type, number.strip().upper(), people.normalise_name(name))
    result = "match" if given == company["representative"] else "mismatch"
    log.info("dev legal-person registry: %s (transaction %s)", result, transaction_id)
    return people._answer({"result": result, "transaction_id": transaction_id,
                           "name": company["name"], "entity_type": company["entity_type"],
                           "status": company["status"]})


@bp.record_once
def _csrf_exempt(state):
    """Called by servers, never with the provider's CSRF token."""
    from idp.extensions import csrf

    csrf.exempt(bp)

