"""The legal-person registry adapter: does the registry list this person as the legal
representative of the enterprise with this credit code, and what does it say of the
enterprise? Signed HTTP exactly as the citizen registry (``idp.realname.verifiers``: the same
client, signatures both ways, timeouts, retries after a transport failure or a 5xx only, no
proxy)::

    POST <url>/v1/enterprise/verify
      {"credit_code", "representative_name", "representative_document_type",
       "representative_document_number", "request_id"}
    200  {"result": "match" | "mismatch" | "not_found", "transaction_id", "request_id",
          "name", "entity_type", "status"}        -- the last three unless "not_found"

"match": the registry has the enterprise and this person (name and document) as its legal
representative; "mismatch": it has the enterprise with another representative. ``status`` is
``operating``, ``cancelled`` or ``revoked``; ``entity_type`` one of
``idp.enterprise.codes.ENTITY_TYPES``. Anything else (no answer, a bad signature, an unknown
value) is ``VerificationUnavailable``. Logs carry outcomes and ids, never names or numbers.
"""

import logging
from dataclasses import dataclass

from flask import current_app

from idp.enterprise.codes import ENTITY_TYPES
from idp.enterprise.models import ENTERPRISE_STATES
from idp.realname import verifiers

log = logging.getLogger(__name__)

OUTCOMES = ("match", "mismatch", "not_found")


@dataclass(frozen=True)
class RegistryAnswer:
    """``outcome`` and, unless "not_found", what the registry says of the enterprise."""

    outcome: str
    reference: str | None
    name: str | None = None
    entity_type: str | None = None
    status: str | None = None

    @property
    def matched(self):
        return self.outcome == "match"


class HttpLegalPersonRegistry(verifiers._HttpVerifier):
    """``POST /v1/enterprise/verify`` at ``ENTERPRISE_REGISTRY_URL``."""

    source = "enterprise_registry"
    label = "legal-person registry"

    def verify(self, credit_code: str, representative: verifiers.PersonClaim) -> RegistryAnswer:
        data, response = self._call("verify", "POST", "/v1/enterprise/verify", {
            "credit_code": credit_code, "representative_name": representative.name,
            "representative_document_type": representative.doc_type,
            "representative_document_number": representative.number})
        outcome = data.get("result")
        if outcome not in OUTCOMES:
            raise self._malformed("verify", response, "unknown result")
        reference = verifiers._reference(data.get("transaction_id"))
        log.info("legal-person registry: %s (request %s, transaction %s, %d attempt(s))",
                 outcome, response.request_id, reference, response.attempts)
        if outcome == "not_found":
            return RegistryAnswer(outcome, reference)
        name, entity_type, status = (data.get(k) for k in ("name", "entity_type", "status"))
        if not (isinstance(name, str) and 0 < len(name.strip()) <= 200):
            raise self._malformed("verify", response, "no enterprise name")
        if entity_type not in ENTITY_TYPES or status not in ENTERPRISE_STATES:
            raise self._malformed("verify", response, "unknown entity type or status")
        return RegistryAnswer(outcome, reference, name.strip(), entity_type, status)


def legal_person_registry() -> HttpLegalPersonRegistry:
    """The adapter configured by ``ENTERPRISE_REGISTRY_*``, with the real-name services'
    timeouts and retries (``VerificationUnavailable`` when the URL or secret is missing)."""
    cfg = current_app.config
    return HttpLegalPersonRegistry(cfg.get("ENTERPRISE_REGISTRY_URL"),
                                   cfg.get("ENTERPRISE_REGISTRY_CLIENT_ID"),
                                   cfg.get("ENTERPRISE_REGISTRY_SECRET"),
                                   **verifiers._settings(cfg))

