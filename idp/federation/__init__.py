"""Logins through regional identity providers (identity brokering): the providers an
administrator registers (``models``, ``service``; console, admin API and ``idp upstreams``),
our relying-party side of a login there (``client``), its step in the login journey and the
national accounts linked to it (``views``), and logging out there when a session it started
ends."""
