"""Development (``make run``): loopback http issuer, secrets from ``instance/dev.env``."""

DEBUG = False
