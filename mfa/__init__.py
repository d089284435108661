"""Second factors behind one interface: TOTP, passkeys (WebAuthn), SMS codes, recovery codes."""
