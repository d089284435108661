"""The protocol layer: OAuth 2 / OpenID Connect endpoints. It never renders a login form; it
hands off to ``idp.accounts`` through an interaction record and resumes with its result."""
