"""Development (``make run``): loopback http issuer, secrets from ``instance/dev.env``."""

DEBUG = False
#: The development registry and face service, mounted at /dev/registry (README, "Real-name").
DEV_REGISTRY_MOUNT = True
#: The logout delivery worker runs in a thread of ``make run`` (README, "Logout").
LOGOUT_WORKER_THREAD = True
