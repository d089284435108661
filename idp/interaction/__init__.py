"""The login journey: how the protocol layer hands a login (or the account pages a re-login)
to the pages and resumes with ``Login(user_id, auth_time, amr, acr, sid)`` and nothing else
(node-oidc-provider's interactions, hydra's login/consent requests).

``record``   the typed interaction record kept in the shared store
``journey``  the state machine: start, proceed (next step or done), advance, establish
``steps``    the ordered steps, each saying whether it is needed, and their pages
``factors``  the second-factor step: one path for every ``mfa`` plugin
"""
