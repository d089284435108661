"""Unified social credit codes (GB 32100-2015 with the GB 11714 organisation code): codes built
by the rule pass, every kind of error is named precisely, and no single typo slips through.
Test codes are synthetic (built by the rule), except the two published examples."""

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from idp.enterprise import codes
from idp.enterprise import details
from idp.enterprise.codes import ALPHABET
from idp.enterprise.codes import CATEGORIES
from idp.enterprise.codes import CreditCodeError
from idp.enterprise.codes import check_character
from idp.enterprise.codes import organisation_check
from idp.enterprise.codes import parse

PUBLISHED = ("91110000600037341L", "91350100M000100Y43")


def build(category="91", region="110108", body="00000001"):
    """A code built by the rule around an organisation code body."""
    first17 = category + region + body + organisation_check(body)
    return first17 + check_character(first17)


def error_of(raw):
    with pytest.raises(CreditCodeError) as caught:
        parse(raw)
    return caught.value


def test_the_published_examples_pass_and_say_what_they_are():
    for code in PUBLISHED:
        assert parse(code).code == code
    found = parse("91110000600037341L")
    assert (found.authority, found.category, found.region, found.organisation_code) == (
        "9", "91", "110000", "60003734-1")
    assert found.entity_type == "enterprise"
    assert found.authority_label == "market regulation"


def test_input_is_normalised_as_identity_numbers_are():
    assert parse(" 9111 0000 6000 3734 1l ").code == "91110000600037341L"
    assert parse("９１１１００００６０００３７３４１Ｌ").code == "91110000600037341L"


@pytest.mark.parametrize("raw, code, params, text", [
    ("", "empty", {}, "Enter the unified social credit code."),
    ("   ", "empty", {}, "Enter the unified social credit code."),
    ("9111000060003734", "length", {"actual": 16},
     "A unified social credit code has 18 characters; this one has 16."),
    ("9" * 65, "length", {}, "The code is too long."),
    ("91110000600037341I", "characters", {"position": 18, "char": "I"},
     "Position 18: I is not used in credit codes (digits and capital letters except I, O, S, "
     "V and Z)."),
    ("9111000060003734-L", "characters", {"position": 17, "char": "-"}, None),
    ("S1110000600037341L", "characters", {"position": 1, "char": "S"}, None),
    ("B1110000600037341L", "authority", {"code": "B"},
     "Position 1: B is not a registration authority."),
    ("94110000600037341L", "category", {"code": "4", "authority": "9"},
     "Position 2: 4 is not a category that market regulation registers."),
    ("9111A000600037341L", "region", {}, "Positions 3 to 8 must be a six-digit region code."),
    ("91110000600037342L", "organisation_check", {},
     "The check character of the organisation code (position 17) does not match."),
    ("91110000600037341M", "check_character", {},
     "The check character (position 18) does not match."),
])
def test_each_problem_has_its_own_error(app, raw, code, params, text):
    with app.test_request_context("/?lang=en"):
        error = error_of(raw)
        assert (error.code, error.params) == (code, params)
        if text:
            assert error.message == text


def test_messages_are_in_the_page_language(app):
    with app.test_request_context("/?lang=zh-CN"):
        assert error_of("91110000600037341M").message == "校验码（第 18 位）不正确。"


def test_every_category_gives_an_entity_type_with_a_label(app):
    with app.test_request_context("/?lang=en"):
        for category, (entity_type, _label) in CATEGORIES.items():
            found = parse(build(category=category))
            assert found.entity_type == entity_type
            assert codes.entity_type_label(entity_type) != entity_type


def test_early_pilot_codes_that_fail_position_18_are_refused():
    """Strict: a code whose organisation code is right but whose position 18 is not is
    refused (see the module: the registry knows only conforming codes)."""
    good = build()
    for wrong in ALPHABET:
        if wrong != good[17]:
            assert error_of(good[:17] + wrong).code == "check_character"


# --- properties --------------------------------------------------------------------------------

bodies = st.text(alphabet=ALPHABET, min_size=8, max_size=8)
regions = st.text(alphabet="0123456789", min_size=6, max_size=6)
categories = st.sampled_from(sorted(CATEGORIES))


@given(categories, regions, bodies)
def test_codes_built_by_the_rule_pass(category, region, body):
    code = build(category, region, body)
    found = parse(code)
    assert found.code == code and found.category == category and found.region == region
    assert parse(code.lower()).code == code


@given(categories, regions, bodies, st.integers(0, 17), st.sampled_from(ALPHABET))
def test_no_single_substitution_passes(category, region, body, position, char):
    code = build(category, region, body)
    assume(code[position] != char)
    with pytest.raises(CreditCodeError):
        parse(code[:position] + char + code[position + 1:])


@given(categories, regions, bodies, st.integers(0, 16))
def test_no_swap_of_neighbours_passes(category, region, body, position):
    code = build(category, region, body)
    assume(code[position] != code[position + 1])
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2:]
    with pytest.raises(CreditCodeError):
        parse(swapped)


@given(st.text(max_size=80))
def test_anything_else_is_an_error_never_a_crash(raw):
    try:
        parse(raw)
    except CreditCodeError as error:
        assert error.code in ("empty", "length", "characters", "authority", "category",
                              "region", "organisation_check", "check_character")


# --- matters and authorization_details ------------------------------------------------------------

def test_matters_from_a_form_or_a_list():
    assert details.clean_matters("tax.declare, tax.pay\nsocial:insurance") == (
        "social:insurance", "tax.declare", "tax.pay")
    assert details.clean_matters("") is None and details.clean_matters(["*"]) is None
    with pytest.raises(ValueError, match="is not a matter code"):
        details.clean_matters(["tax declare!"])


def test_covering_and_intersecting_matters():
    assert details.covers(None, ("anything",)) and details.covers(None, ("*",))
    assert details.covers(("a", "b"), ("a",)) and not details.covers(("a",), ("a", "b"))
    assert not details.covers(("a", "b"), ("*",))
    assert details.intersect(None, ("a",)) == ("a",) and details.intersect(("a",), None) == (
        "a",)
    assert details.intersect(("a", "b"), ("b", "c")) == ("b",)
    assert details.intersect(("a",), ("c",)) == ()
