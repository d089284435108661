"""One reader for JSON that comes from outside (request bodies, query parameters, fetched
documents, answers of other services): ``loads``, under which JSON nested deeper than Python's
parser goes is a ``ValueError`` like any other JSON it cannot read (the parser raises
``RecursionError``, which nothing expects from bad input). Flask reads request bodies through
it too (``InputJSON``, installed by ``create_app``)."""

import json

from flask.json.provider import DefaultJSONProvider


def loads(text):
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


class InputJSON(DefaultJSONProvider):
    """Flask's JSON, reading through ``loads`` (``request.get_json`` and ``flask.json``)."""

    def loads(self, s, **kwargs):
        return loads(s)
