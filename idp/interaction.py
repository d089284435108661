"""Interaction records: how the protocol layer hands a login or consent to the account pages
and resumes afterwards (node-oidc-provider's interactions, hydra's login/consent requests).

A record holds the authorization request's parameters and, once the person has acted, what
was established: ``login`` ({user_id, auth_time, amr, acr, sid}) and ``consent`` ("allow" or
"deny"). Nothing else crosses between the layers.
"""

import secrets
import time

from flask import current_app

from idp.store import store


def create(params, client_id, stage):
    uid = secrets.token_urlsafe(24)
    ttl = current_app.config["INTERACTION_TTL"]
    record = {"uid": uid, "params": params, "client_id": client_id, "stage": stage,
              "login": None, "consent": None, "expires_at": int(time.time()) + ttl}
    save(record)
    return record


def load(uid):
    if not isinstance(uid, str) or len(uid) > 64:
        return None
    record = store().get("ix:" + uid)
    if record is None or record["expires_at"] <= time.time():
        return None
    return record


def save(record):
    ttl = max(1, int(record["expires_at"] - time.time()))
    store().set("ix:" + record["uid"], record, ttl)


def finish(record):
    store().delete("ix:" + record["uid"])
