"""JSON from outside: nested deeper than Python's parser goes is bad JSON (a ValueError), not a
RecursionError that would reach the user as a 500 — in request bodies (Flask reads through
``idp.json_input``), parameters, fetched documents and other services' answers."""

import pytest

from idp import json_input
from idp.signed_http import BAD_RESPONSE
from idp.signed_http import SignedHttpError
from idp.signed_http import SignedResponse

DEEP = "[" * 200_000 + "]" * 200_000


def test_deep_nesting_is_a_value_error_and_ordinary_json_reads():
    with pytest.raises(ValueError, match="nested too deeply"):
        json_input.loads(DEEP)
    assert json_input.loads('{"a": [1, "二"]}') == {"a": [1, "二"]}


def test_a_flask_body_nested_too_deeply_is_no_json(app):
    with app.test_request_context("/", method="POST", data=DEEP,
                                  content_type="application/json"):
        from flask import request

        assert request.get_json(silent=True) is None


def test_a_registry_answer_nested_too_deeply_is_a_bad_response():
    answer = SignedResponse(status=200, headers={}, body=DEEP.encode(), truncated=False,
                            request_id="r", attempts=1)
    with pytest.raises(SignedHttpError) as info:
        answer.json()
    assert info.value.kind == BAD_RESPONSE
