"""Client metadata (RFC 7591 2, OpenID Connect Registration 2, RFC 8252) and policy fields:
each check raises ``ClientValidationError`` carrying its RFC 7591 error code.

``normalize`` takes a metadata dictionary with RFC 7591 names and returns it complete and
canonical (defaults filled in, lists de-duplicated); unknown names are ignored (RFC 7591 2).

Validation is pure: what the network says about the URLs a client names (may they be fetched,
the document at ``sector_identifier_uri``) is found out before, by ``clients.fetch.fetch_for``,
and handed in as ``Fetched``.
"""

import dataclasses
import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import idna
from confusable_homoglyphs import categories
from flask import current_app

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
RESPONSE_TYPES = ("code",)
SUBJECT_TYPES = ("pairwise", "public")
APPLICATION_TYPES = ("web", "native")

#: What a platform may send to the registration endpoints (RFC 7591 2, OIDC Registration 2).
METADATA_FIELDS = (
    "client_name", "redirect_uris", "post_logout_redirect_uris", "grant_types",
    "response_types", "token_endpoint_auth_method", "application_type", "scope", "contacts",
    "logo_uri", "client_uri", "policy_uri", "tos_uri", "jwks", "jwks_uri",
    "sector_identifier_uri", "subject_type", "id_token_signed_response_alg", "software_id",
    "software_version", "backchannel_logout_uri", "backchannel_logout_session_required",
    "frontchannel_logout_uri", "frontchannel_logout_session_required",
)
#: What only the operator sets (``scope`` is both: a platform asks, the operator bounds it).
POLICY_FIELDS = (
    "allowed_claims", "min_loa", "require_mfa", "enterprise_allowed", "access_token_ttl",
    "refresh_token_ttl", "skip_consent", "sector_identifier",
)
POLICY_DEFAULTS = {"allowed_claims": None, "min_loa": 1, "require_mfa": False,
                   "enterprise_allowed": False, "access_token_ttl": None,
                   "refresh_token_ttl": None, "skip_consent": False, "sector_identifier": None}

MAX_URI = 500
MAX_URIS = 20
MAX_CONTACTS = 10
ACCESS_TTL_RANGE = (60, 24 * 3600)
REFRESH_TTL_RANGE = (300, 365 * 24 * 3600)
LOA_RANGE = (1, 4)

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]{1,100}$")  # RFC 6749 3.3
CLAIM_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
HOSTNAME = re.compile(r"^[A-Za-z0-9.:_-]{1,255}$")


#: Fields naming a URL the provider fetches from (or posts to: back-channel logout); of those,
#: the ones whose document is checked at registration (the JWK Set at ``jwks_uri`` is fetched
#: when a client authenticates).
FETCHED_FIELDS = ("jwks_uri", "sector_identifier_uri", "backchannel_logout_uri")
DOCUMENT_FIELDS = ("sector_identifier_uri",)


@dataclasses.dataclass
class Fetched:
    """What fetching found out, before validation, about each URL a client's metadata names in
    ``FETCHED_FIELDS``: why it may not be fetched (None: it may) and, for ``DOCUMENT_FIELDS``,
    the JSON document fetched or why fetching failed."""

    problems: dict = dataclasses.field(default_factory=dict)
    documents: dict = dataclasses.field(default_factory=dict)
    failures: dict = dataclasses.field(default_factory=dict)


#: Scripts one host label may mix (UTS 39 5.2, "highly restrictive"): Latin with Chinese,
#: Japanese or Korean writing. Any other mix (Latin with Cyrillic or Greek, say) is how
#: look-alike hosts are made; digits and hyphens belong to every script.
SCRIPT_MIXES = ({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}, {"LATIN", "HAN", "BOPOMOFO"},
                {"LATIN", "HAN", "HANGUL"})


class ClientValidationError(ValueError):
    """Invalid client metadata; ``error`` is the RFC 7591 error code."""

    def __init__(self, error, description):
        super().__init__(description)
        self.error = error
        self.description = description


def unusable_character(value) -> str | None:
    """What no text of ours holds, anywhere in a JSON value (its keys too, at any depth):
    ``NUL`` (PostgreSQL refuses it in text) or a lone surrogate (half of a UTF-16 pair, which
    JSON may escape as ``\\ud800``: no character, it cannot be stored or hashed); None when none
    is."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "NUL"
            try:
                item.encode()
            except UnicodeEncodeError:
                return "a lone surrogate"
        elif isinstance(item, dict):
            pending.extend([*item, *item.values()])
        elif isinstance(item, list):
            pending.extend(item)
    return None


def _meta(description):
    return ClientValidationError("invalid_client_metadata", description)


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address((host or "").strip("[]")).is_loopback
    except ValueError:
        return False


def is_private_use(uri):
    """RFC 8252 7.1: a private-use URI scheme in reverse domain name form
    (``com.example.app:/cb``)."""
    parts = urlsplit(uri)
    return "." in parts.scheme and not parts.netloc and parts.path.startswith("/")


def ascii_host(uri, error):
    """``uri`` with its host in ASCII (IDNA 2008 A-labels, after UTS 46 mapping: ``政府.cn``
    becomes ``xn--mxtq1m.cn``), as stored and shown to reviewers; an ASCII host stays as
    written. A host that is no valid name, or whose label mixes scripts (``SCRIPT_MIXES``),
    is refused with ``error``, as is a URI that is none (a bracket left open, a port that is
    no port). IP addresses and URIs without a host are returned as they are.
    """
    try:
        parts = urlsplit(uri)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ClientValidationError(error, f"{uri!r} is not an absolute URI") from None
    if not host or host.startswith("[") or _is_ip(host):
        return uri
    try:
        encoded = idna.encode(host, uts46=True).decode("ascii")
        labels = idna.decode(encoded).split(".")
    except UnicodeError:  # idna.IDNAError is one
        raise ClientValidationError(
            error, f"{uri!r}: {host!r} is not a valid host name (IDNA 2008)") from None
    for label in labels:
        scripts = {categories.alias(c) for c in label} - {"COMMON", "INHERITED"}
        if len(scripts) > 1 and not any(scripts <= mix for mix in SCRIPT_MIXES):
            raise ClientValidationError(
                error, f"{uri!r}: the host label {label!r} mixes scripts "
                       f"({', '.join(sorted(scripts))}), as look-alike hosts do")
    if host.isascii():
        return uri
    port = f":{port}" if port is not None else ""
    return parts._replace(netloc=encoded + port).geturl()


def _ascii_or_none(uri):
    """``ascii_host(uri)``, or None for a URI whose host is not valid."""
    try:
        return ascii_host(uri, "invalid_redirect_uri")
    except (ClientValidationError, ValueError):
        return None


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def validate_redirect_uri(uri, *, native_public=False, error="invalid_redirect_uri"):
    """Exact URIs only (RFC 6749 3.1.2, RFC 9700 4.1.3): https; http on a loopback host
    (RFC 8252 7.3); a private-use scheme for native public clients (RFC 8252 7.1). No
    fragment, no wildcard, no user information."""
    if not isinstance(uri, str) or not uri:
        raise ClientValidationError(error, f"{uri!r} is not an absolute URI")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
        parts.port  # noqa: B018  (raises ValueError for a port that is not a port)
    except ValueError:
        raise ClientValidationError(error, f"{uri!r} is not an absolute URI") from None
    if not parts.scheme or not (host or is_private_use(uri)):
        raise ClientValidationError(error, f"{uri!r} is not an absolute URI")
    if len(uri) > MAX_URI:
        raise ClientValidationError(error, f"a redirect URI is longer than {MAX_URI} characters")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
        raise ClientValidationError(error, f"{uri!r} contains whitespace or control characters")
    if parts.fragment or "#" in uri:
        raise ClientValidationError(error, f"{uri!r} has a fragment")
    if "*" in uri:
        raise ClientValidationError(error, f"{uri!r} has a wildcard")
    if "@" in parts.netloc:
        raise ClientValidationError(error, f"{uri!r} has user information")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)):
        return ascii_host(uri, error)
    if is_private_use(uri):
        if native_public:
            return uri
        raise ClientValidationError(
            error, f"{uri!r}: a private-use URI scheme is for native public clients "
                   "(application_type native, token_endpoint_auth_method none)")
    raise ClientValidationError(
        error, f"{uri!r} must use https (http only on a loopback host)")


def _strings(value, field, *, error="invalid_client_metadata", limit=MAX_URIS):
    """A JSON array of strings (None: empty), de-duplicated in order."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClientValidationError(error, f"{field} must be an array of strings")
    value = list(dict.fromkeys(value))
    if len(value) > limit:
        raise ClientValidationError(error, f"{field} has more than {limit} entries")
    return value


def _text(value, field, limit, *, required=False):
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise _meta(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise _meta(f"{field} must be a string")
    value = value.strip()
    if required and not value:
        raise _meta(f"{field} is required")
    if len(value) > limit:
        raise _meta(f"{field} is longer than {limit} characters")
    # controls (Cc) and invisible format characters (Cf: bidi overrides and isolates,
    # zero-width characters, the byte-order mark, the soft hyphen): a name with one looks
    # like another platform's, or turns the text around it on the consent page
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise _meta(f"{field} contains control or invisible formatting characters")
    return value


def _https_uri(value, field):
    value = _text(value, field, MAX_URI)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if (parts is None or parts.scheme != "https" or not host or "@" in parts.netloc
            or parts.fragment):
        raise _meta(f"{field} must be an https URL (without user information or fragment)")
    return ascii_host(value, "invalid_client_metadata")


def fetched_uri(value, field):
    """The URL in a ``FETCHED_FIELDS`` field as validation reads it, its host in ASCII (None
    when absent)."""
    value = _text(value, field, MAX_URI)
    return None if value is None else ascii_host(value, "invalid_client_metadata")


def _fetchable_uri(value, field, fetched):
    value = fetched_uri(value, field)
    if value is None:
        return None
    problem = fetched.problems[value]  # a URL nobody checked is an error, never a pass
    if problem:
        raise _meta(f"{field} {problem}")
    return value


def _bool(value, field, default):
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _meta(f"{field} must be true or false")
    return value


def _int(value, field, low, high, default):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _meta(f"{field} must be a whole number from {low} to {high}")
    return value


def check_jwks(jwks):
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise _meta("jwks must be a JWK Set")
    if len(jwks["keys"]) > 20:
        raise _meta("jwks has more than 20 keys")
    try:
        keys = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise _meta(f"jwks is invalid: {exc}") from None
    if any(k.is_private for k in keys):
        raise _meta("jwks must hold public keys only")
    return jwks


def check_scope(value, grant_types, scope_limit=None):
    """Known scopes (a client-credentials client may also have API scopes of its own), within
    ``scope_limit`` when an initial access token sets one."""
    if value is None:
        value = "openid"
    if not isinstance(value, str):
        raise _meta("scope must be a space-separated string")
    scopes = list(dict.fromkeys(value.split()))
    if not scopes:
        raise _meta("scope must name at least one scope")
    if len(value) > 1000 or any(not SCOPE_TOKEN.match(s) for s in scopes):
        raise _meta("scope is malformed (RFC 6749 3.3)")
    known = set(current_app.config["SCOPES_SUPPORTED"])
    if scope_limit is not None:
        beyond = [s for s in scopes if s not in scope_limit]
        if beyond:
            raise _meta(f"scope(s) beyond what this registration may have: {' '.join(beyond)}")
    elif "client_credentials" not in grant_types:
        unknown = [s for s in scopes if s not in known]
        if unknown:
            raise _meta(f"unknown scope(s): {' '.join(unknown)}")
    return " ".join(scopes)


def _grants_and_responses(data):
    """RFC 7591 2.1: defaults (authorization_code / code) and the two lists' consistency."""
    grants = data.get("grant_types")
    responses = data.get("response_types")
    grants = None if grants is None else _strings(grants, "grant_types")
    responses = None if responses is None else _strings(responses, "response_types")
    if grants is None:
        grants = ["authorization_code"] if responses is None or "code" in responses else []
    if responses is None:
        responses = ["code"] if "authorization_code" in grants else []
    for g in grants:
        if g not in GRANT_TYPES:
            raise _meta(f"grant type {g!r} is not supported")
    for r in responses:
        if r not in RESPONSE_TYPES:
            raise _meta(f"response type {r!r} is not supported (only code)")
    if not grants:
        raise _meta("a client needs a grant type")
    if ("code" in responses) != ("authorization_code" in grants):
        raise _meta("response_types code and grant_types authorization_code go together")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise _meta("refresh_token goes with authorization_code")
    return grants, responses


def normalize(data, *, fetched, policy=True, scope_limit=None):
    """``data`` checked and completed. ``fetched``: what ``clients.fetch.fetch_for(data)``
    found out. ``policy``: the operator's fields are taken from ``data`` too (otherwise they
    are left out). ``scope_limit``: a set of scopes the client may have at most."""
    if not isinstance(data, dict):
        raise _meta("the client metadata must be a JSON object")
    if data.get("software_statement") is not None:
        raise ClientValidationError(
            "invalid_software_statement", "software statements are not accepted here")
    # RFC 7591 2: client_name is optional for a platform registering itself (the registry
    # then shows a name of its own, ``clients.service.default_client_name``); operators name
    # the clients they register.
    out = {"client_name": _text(data.get("client_name"), "client_name", 200, required=policy)}
    method = data.get("token_endpoint_auth_method") or "client_secret_basic"
    if method not in AUTH_METHODS:
        raise _meta(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}")
    out["token_endpoint_auth_method"] = method
    app_type = data.get("application_type") or "web"
    if app_type not in APPLICATION_TYPES:
        raise _meta("application_type must be web or native")
    out["application_type"] = app_type
    grants, responses = _grants_and_responses(data)
    out["grant_types"], out["response_types"] = grants, responses
    if method == "none" and "client_credentials" in grants:
        raise _meta("a public client cannot use client_credentials")

    native_public = app_type == "native" and method == "none"
    redirect_uris = [validate_redirect_uri(u, native_public=native_public) for u in _strings(
        data.get("redirect_uris"), "redirect_uris", error="invalid_redirect_uri")]
    if "authorization_code" in grants and not redirect_uris:
        raise ClientValidationError(
            "invalid_redirect_uri", "the authorization_code grant needs a redirect URI")
    out["redirect_uris"] = redirect_uris
    out["post_logout_redirect_uris"] = [
        validate_redirect_uri(u, native_public=native_public, error="invalid_client_metadata")
        for u in _strings(data.get("post_logout_redirect_uris"), "post_logout_redirect_uris")]

    jwks, jwks_uri = data.get("jwks"), data.get("jwks_uri")
    if jwks is not None and jwks_uri is not None:
        raise _meta("jwks and jwks_uri cannot both be present (RFC 7591 2)")
    if method == "private_key_jwt" and jwks is None and jwks_uri is None:
        raise _meta("private_key_jwt needs jwks or jwks_uri")
    out["jwks"] = check_jwks(jwks) if jwks is not None else None
    out["jwks_uri"] = _fetchable_uri(jwks_uri, "jwks_uri", fetched)

    out["scope"] = check_scope(data.get("scope"), grants, scope_limit)
    contacts = _strings(data.get("contacts"), "contacts", limit=MAX_CONTACTS)
    for email in contacts:
        if len(email) > 254 or not EMAIL.match(email):
            raise _meta(f"contact {email!r} is not an email address")
    out["contacts"] = contacts
    for field in ("logo_uri", "client_uri", "policy_uri", "tos_uri"):
        out[field] = _https_uri(data.get(field), field)
    out["sector_identifier_uri"] = _fetchable_uri(
        data.get("sector_identifier_uri"), "sector_identifier_uri", fetched)
    if out["sector_identifier_uri"]:
        check_sector_document(out["sector_identifier_uri"], redirect_uris, fetched)
    subject_type = data.get("subject_type") or "pairwise"
    if subject_type not in SUBJECT_TYPES:
        raise _meta("subject_type must be pairwise or public")
    out["subject_type"] = subject_type
    algs = current_app.config["ID_TOKEN_SIGNING_ALGS"]
    alg = data.get("id_token_signed_response_alg") or algs[0]
    if alg not in algs:
        raise _meta(f"id_token_signed_response_alg must be one of {', '.join(algs)}")
    out["id_token_signed_response_alg"] = alg
    out.update(_logout_uris(data, redirect_uris, native_public, fetched))
    out["software_id"] = _text(data.get("software_id"), "software_id", 200)
    out["software_version"] = _text(data.get("software_version"), "software_version", 100)
    if policy:
        out.update(normalize_policy(data))
    return out


def _logout_uris(data, redirect_uris, native_public, fetched):
    """OpenID Connect Back-Channel Logout 1.0 2.2 and Front-Channel Logout 1.0 2: absolute
    URIs without a fragment. The provider posts logout tokens to ``backchannel_logout_uri``
    itself, so it is held to the rules of every URL the provider calls (``fetched``: https;
    plain http on a loopback host outside production; in production never a private, local
    or unresolvable address). The browser loads ``frontchannel_logout_uri`` in a frame, so
    it is a URI like a redirect URI, on the scheme, host and port of one of them (Front-Channel
    Logout 2)."""
    out = {}
    back = _fetchable_uri(data.get("backchannel_logout_uri"), "backchannel_logout_uri", fetched)
    if back is not None and "#" in back:
        raise _meta("backchannel_logout_uri has a fragment")
    out["backchannel_logout_uri"] = back
    front = _text(data.get("frontchannel_logout_uri"), "frontchannel_logout_uri", MAX_URI)
    if front is not None:
        front = validate_redirect_uri(front, native_public=native_public,
                                      error="invalid_client_metadata")
        origins = {_origin(uri) for uri in redirect_uris}
        if _origin(front) not in origins:
            raise _meta("frontchannel_logout_uri must have the scheme, host and port of one "
                        "of the redirect URIs")
    out["frontchannel_logout_uri"] = front
    for field in ("backchannel_logout_session_required", "frontchannel_logout_session_required"):
        out[field] = _bool(data.get(field), field, False)
    return out


def _origin(uri):
    parts = urlsplit(uri)
    return parts.scheme, parts.hostname, parts.port or {"https": 443, "http": 80}.get(
        parts.scheme)


def normalize_policy(data):
    out = {}
    claims = data.get("allowed_claims")
    if claims is not None:
        claims = _strings(claims, "allowed_claims", limit=100)
        if any(not CLAIM_NAME.match(c) for c in claims):
            raise _meta("allowed_claims must hold claim names")
    out["allowed_claims"] = claims
    out["min_loa"] = _int(data.get("min_loa"), "min_loa", *LOA_RANGE, 1)
    for field in ("require_mfa", "enterprise_allowed", "skip_consent"):
        out[field] = _bool(data.get(field), field, False)
    out["access_token_ttl"] = _int(data.get("access_token_ttl"), "access_token_ttl",
                                   *ACCESS_TTL_RANGE, None)
    out["refresh_token_ttl"] = _int(data.get("refresh_token_ttl"), "refresh_token_ttl",
                                    *REFRESH_TTL_RANGE, None)
    sector = _text(data.get("sector_identifier"), "sector_identifier", 255)
    if sector is not None and not HOSTNAME.match(sector):
        raise _meta("sector_identifier must be a host name")
    out["sector_identifier"] = sector
    return out


def check_sector_document(url, redirect_uris, fetched):
    """OIDC Registration 5: the document at ``sector_identifier_uri`` is a JSON array of
    URIs that lists every redirect URI of the client."""
    if url in fetched.failures:
        raise _meta(f"sector_identifier_uri could not be fetched: {fetched.failures[url]}")
    listed = fetched.documents[url]
    if not isinstance(listed, list) or not all(isinstance(u, str) for u in listed):
        raise _meta("sector_identifier_uri must hold a JSON array of URIs")
    listed = set(listed) | {_ascii_or_none(u) for u in listed}  # 政府.cn lists xn--mxtq1m.cn
    missing = [u for u in redirect_uris if u not in listed]
    if missing:
        raise ClientValidationError(
            "invalid_redirect_uri",
            f"redirect URI(s) not listed at sector_identifier_uri: {' '.join(missing)}")


def _receiving_host(uri):
    """The host a redirect URI proves, for the pairwise sector (OIDC Core 8.1): an https
    URI's host; None for a loopback or private-use URI, which any app on a device may claim."""
    parts = urlsplit(uri)
    return parts.hostname if parts.scheme == "https" else None


def sector_for(values, client_id):
    """The sector of pairwise subjects for a new client (OIDC Core 8.1): the operator's
    ``sector_identifier``, else the host of ``sector_identifier_uri`` (its document lists
    every redirect URI, ``check_sector_document``), else the one https host of the redirect
    URIs. Redirect URIs on more than one host, a loopback or private-use URI beside an https
    host included, prove no sector: a pairwise client needs a ``sector_identifier_uri``. A
    client whose redirect URIs prove no host (only loopback or private-use ones: a native
    app, which anyone can register) or with public subjects gets a sector of its own."""
    uri_host = urlsplit(values["sector_identifier_uri"]).hostname if values.get(
        "sector_identifier_uri") else None
    explicit = values.get("sector_identifier")
    if explicit and uri_host and explicit != uri_host:
        raise _meta("sector_identifier differs from the host of sector_identifier_uri")
    if explicit or uri_host:
        return explicit or uri_host
    hosts = list(dict.fromkeys(_receiving_host(uri) for uri in values["redirect_uris"]))
    if values["subject_type"] != "pairwise":
        return "client:" + client_id
    if len(hosts) > 1:
        shown = ", ".join(dict.fromkeys(urlsplit(uri).hostname or urlsplit(uri).scheme + ":"
                                        for uri in values["redirect_uris"]))
        raise _meta(f"redirect URIs on more than one host ({shown}) need a sector identifier for "
                    "pairwise subjects: a sector_identifier_uri, an https URL on the sector's "
                    "host serving a JSON array of every redirect URI (OIDC Core 8.1; a loopback "
                    "or private-use redirect URI counts as a host of its own)")
    return hosts[0] if hosts and hosts[0] else "client:" + client_id
