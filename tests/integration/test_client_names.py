"""A platform's name holds no invisible or direction-changing characters.

The attack review registered a platform (RFC 7591, no registrar review) named "税务\\u200b平台"
— on every page the same as "税务平台" — and one whose name begins with U+202E RIGHT-TO-LEFT
OVERRIDE, which turns the rest of the consent page's sentence (the host the citizen returns
to) around. Format characters (Unicode category Cf: bidi controls, zero-width characters,
the byte-order mark, the soft hyphen) and controls (Cc) are refused in every text field, as
control characters already were."""

import pytest

from tests.integration.test_dynamic_registration import issue_iat
from tests.integration.test_dynamic_registration import register


@pytest.mark.parametrize("name", ["税务\u200b平台", "\u202e台平务税", "税务平台\u2066x",
                                  "税\ufeff务平台", "税务\u00ad平台", "税务\u0085平台"])
def test_a_name_with_invisible_or_bidi_characters_is_refused(app, client, name):
    _id, token = issue_iat(app, auto_approve=True)
    r = register(client, token, {"client_name": name,
                                 "redirect_uris": ["https://tax.gov.example/cb"]})
    assert r.status_code == 400
    assert r.get_json() == {"error": "invalid_client_metadata", "error_description": (
        "client_name contains control or invisible formatting characters")}


def test_an_operator_cannot_give_such_a_name_either(app):
    r = app.test_cli_runner().invoke(args=[
        "clients", "create", "--name", "税务\u200b平台",
        "--redirect-uri", "https://tax.gov.example/cb"])
    assert r.exit_code != 0
    assert "client_name contains control or invisible formatting characters" in r.output
