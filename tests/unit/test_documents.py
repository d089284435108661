"""Identity-document numbers: published and hand-made examples, and properties of numbers
built by the rules (region + birth date + sequence + computed check character)."""

import datetime
import pickle

import pycountry
import pytest
from flask import Flask
from flask_babel import Babel
from flask_babel import force_locale
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from idp.realname import documents
from idp.realname.documents import DOCUMENT_TYPES
from idp.realname.documents import Document
from idp.realname.documents import DocumentError
from idp.realname.documents import check_character
from idp.realname.documents import mask
from idp.realname.documents import parse
from idp.realname.documents import type_label

TODAY = documents._today()
PROVINCES = sorted(documents.MAINLAND_PROVINCES)
FOREIGN_COUNTRIES = sorted(
    (c.alpha_3, c.numeric) for c in pycountry.countries
    if c.alpha_3 not in {"CHN", "HKG", "MAC", "TWN"}
)


def error(doc_type, raw, nationality=None) -> DocumentError:
    with pytest.raises(DocumentError) as info:
        parse(doc_type, raw, nationality)
    return info.value


def iso7064_ok(number: str) -> bool:
    """Independent oracle: ISO 7064 MOD 11-2 holds when sum(a_i * 2^(18-i)) = 1 (mod 11)."""
    values = [10 if ch == "X" else int(ch) for ch in number]
    return sum(v * pow(2, 17 - i, 11) for i, v in enumerate(values)) % 11 == 1


def icao_digit(text: str) -> str:
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in text]
    return str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


# ---------------------------------------------------------------- strategies

birth_dates = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def resident_ids(draw):
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text("0123456789", min_size=4,
                                                             max_size=4))
    born = draw(birth_dates)
    seq = draw(sequences)
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + check_character(body), born, seq


@st.composite
def hmt_permits(draw):
    region = draw(st.sampled_from(sorted(documents.HMT_REGIONS)))
    born = draw(birth_dates)
    seq = draw(sequences)
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + check_character(body), born, seq


@st.composite
def permanent_ids_2023(draw):
    province = draw(st.sampled_from(PROVINCES))
    alpha3, numeric = draw(st.sampled_from(FOREIGN_COUNTRIES))
    born = draw(birth_dates)
    seq = draw(sequences)
    body = f"9{province}{numeric}{born:%Y%m%d}{seq:03d}"
    return body + check_character(body), alpha3, born, seq


@st.composite
def permanent_ids_2017(draw):
    alpha3, _ = draw(st.sampled_from(FOREIGN_COUNTRIES))
    place = draw(st.sampled_from(PROVINCES)) + draw(st.text("0123456789", min_size=2,
                                                            max_size=2))
    born = draw(birth_dates)
    seq = draw(st.integers(0, 9))
    body = f"{alpha3}{place}{born:%y%m%d}{seq}"
    return body + icao_digit(body), alpha3, born


# ---------------------------------------------------------------- resident identity card

def test_published_example_is_valid():
    doc = parse("resident_id", "11010519491231002X")
    assert doc == Document("resident_id", "11010519491231002X", None,
                           datetime.date(1949, 12, 31), "female", "110105")


def test_published_counterexample_fails_the_check_character():
    e = error("resident_id", "110105194912310021")
    assert e.code == "check_character"
    assert e.message == "The check character does not match."
    assert e.params == {}


def test_check_character_of_the_example():
    assert check_character("11010519491231002") == "X"
    with pytest.raises(DocumentError):
        check_character("1101051949123100")
    with pytest.raises(DocumentError):
        check_character("1101051949123100A")


def test_impossible_birth_date_is_named_in_the_message():
    e = error("resident_id", "110105202302300020")
    assert e.code == "birth_date"
    assert e.params == {"date": "2023-02-30"}
    assert "2023-02-30" in e.message
    assert e.message == "Birth date 2023-02-30 is not a date."


def test_lower_case_x_full_width_and_spaces_are_normalised():
    for raw in ("11010519491231002x", " 110105 19491231 002X ", "110105\u300019491231002X",
                "１１０１０５１９４９１２３１００２ｘ", "110105\t19491231002X"):
        assert parse("resident_id", raw).number == "11010519491231002X"


def test_fifteen_digit_legacy_number_is_refused_with_its_own_message():
    e = error("resident_id", "110105491231002")
    assert e.code == "legacy_15"
    assert "18-digit" in e.message


@pytest.mark.parametrize(("raw", "code"), [
    ("1101051949123100", "length"),
    ("11010519491231002X1", "length"),
    ("1101051949123100XX", "characters"),
    ("11010519491231O02X", "characters"),
    ("110105194912310٢2X", "characters"),  # an Arabic-Indic digit is not a digit here
    ("990105194912310021", "region"),
    ("710105194912310021", "region"),
    ("110105194913310021", "birth_date"),
    ("110105189912310021", "early_birth_date"),
    ("110105209912310021", "future_birth_date"),
])
def test_resident_id_errors(raw, code):
    assert error("resident_id", raw).code == code


def test_errors_come_in_the_order_of_the_number():
    # wrong region, impossible date and wrong check: the region is reported
    assert error("resident_id", "990105194913310029").code == "region"
    # impossible date and wrong check: the date
    assert error("resident_id", "110105194913310029").code == "birth_date"


def test_hong_kong_macao_taiwan_codes_point_to_the_residence_permit():
    e = error("resident_id", "810000199001010019")
    assert e.code == "region"
    assert e.params["code"] == "81"
    assert "residence permits for Hong Kong, Macao and Taiwan residents" in e.message


def test_tomorrow_is_in_the_future_and_today_is_not(monkeypatch):
    today = datetime.date(2026, 12, 1)  # frozen: a run that crosses midnight in China stays true
    monkeypatch.setattr(documents, "_today", lambda: today)
    tomorrow = today + datetime.timedelta(days=1)
    body = f"110105{tomorrow:%Y%m%d}001"
    assert error("resident_id", body + check_character(body)).code == "future_birth_date"
    body = f"110105{today:%Y%m%d}001"
    assert parse("resident_id", body + check_character(body)).birthdate == today


def test_huge_nul_and_emoji_input_are_document_errors():
    assert error("resident_id", "1" * 10_000_000).code == "length"
    assert error("resident_id", "1101051949123\x00002X").code == "characters"
    assert error("resident_id", "11010519491231002😀").code == "characters"
    assert error("resident_id", "").code == "empty"
    assert error("resident_id", " \u3000\t").code == "empty"
    assert error("resident_id", None).code == "empty"
    assert error("resident_id", 11010519491231002).code == "characters"


# ---------------------------------------------------------------- residence permit (HMT)

def test_residence_permit_examples():
    for number, region in (("810000199001010019", "810000"), ("820000200106150023", "820000"),
                           ("830000197511200036", "830000")):
        doc = parse("hmt_residence_permit", number)
        assert doc.region == region
        assert doc.number == number
    assert parse("hmt_residence_permit", "810000199001010019").gender == "male"


@pytest.mark.parametrize(("raw", "code"), [
    ("11010519491231002X", "region"),  # a resident number is not a residence permit
    ("810001199001010019", "region"),
    ("710000199001010019", "region"),
    ("810000199001010010", "check_character"),
    ("81000019900101001", "length"),
    ("810000199002300019", "birth_date"),
])
def test_residence_permit_errors(raw, code):
    assert error("hmt_residence_permit", raw).code == code


def test_residence_permit_region_message():
    assert "810000, 820000 or 830000" in error("hmt_residence_permit", "11010519491231002X").message


# ---------------------------------------------------------------- Hong Kong / Macao permit

def test_hong_kong_macao_permit_examples():
    assert parse("hk_macao_permit", "H12345678") == Document("hk_macao_permit", "H12345678",
                                                              region="810000")
    assert parse("hk_macao_permit", "m1234567801").number == "M1234567801"
    assert parse("hk_macao_permit", "M1234567801").region == "820000"
    assert parse("hk_macao_permit", "Ｈ１２３４５６７８").number == "H12345678"


@pytest.mark.parametrize(("raw", "code"), [
    ("H1234567", "length"),
    ("H123456789", "length"),
    ("K12345678", "characters"),
    ("12345678H", "characters"),
    ("H1234567A", "characters"),
])
def test_hong_kong_macao_permit_errors(raw, code):
    assert error("hk_macao_permit", raw).code == code


# ---------------------------------------------------------------- Taiwan permit

def test_taiwan_permit_examples():
    assert parse("taiwan_permit", "12345678") == Document("taiwan_permit", "12345678")
    assert parse("taiwan_permit", "0561682001").number == "0561682001"
    assert parse("taiwan_permit", "0561682001(D)").number == "0561682001(D)"
    assert parse("taiwan_permit", "0561682001（d）").number == "0561682001(D)"


@pytest.mark.parametrize(("raw", "code"), [
    ("1234567", "length"),
    ("123456789", "length"),
    ("1234567A", "characters"),
    ("0561682001[D]", "characters"),
    ("056168200A(D)", "characters"),
])
def test_taiwan_permit_errors(raw, code):
    assert error("taiwan_permit", raw).code == code


# ---------------------------------------------------------------- foreign passport

def test_foreign_passport_examples():
    assert parse("foreign_passport", "E12345678", "usa") == Document(
        "foreign_passport", "E12345678", "USA")
    assert parse("foreign_passport", "c01x00t47", "D<<").nationality == "DEU"
    assert parse("foreign_passport", "C01X00T47", "D").nationality == "DEU"
    assert parse("foreign_passport", "123456", "XXA").nationality == "XXA"
    assert parse("foreign_passport", "123456", "ＧＢＲ").nationality == "GBR"


@pytest.mark.parametrize(("raw", "nationality", "code"), [
    ("E12345678", None, "nationality_required"),
    ("E12345678", "  ", "nationality_required"),
    ("E12345678", "ZZZ", "nationality"),
    ("E12345678", "US", "nationality"),
    ("E12345678", "840", "nationality"),
    ("E12345678", "x" * 1000, "nationality"),
    ("E12345678", "CHN", "domestic_nationality"),
    ("E12345678", "twn", "domestic_nationality"),
    ("E123456789", "USA", "length"),
    ("E1234-567", "USA", "characters"),
    ("E1234567<", "USA", "characters"),
])
def test_foreign_passport_errors(raw, nationality, code):
    assert error("foreign_passport", raw, nationality).code == code


def test_unknown_nationality_is_echoed_only_when_it_looks_like_a_code():
    assert error("foreign_passport", "E1", "zzz").message == "ZZZ is not a country code."
    assert "<script>" not in error("foreign_passport", "E1", "<script>").message


# ---------------------------------------------------------------- foreign permanent resident ID

def test_permanent_id_2023_example():
    doc = parse("foreign_permanent_id", "931840198511071231")
    assert doc == Document("foreign_permanent_id", "931840198511071231", "USA",
                           datetime.date(1985, 11, 7), "male", "310000")
    assert parse("foreign_permanent_id", "931840198511071231", "usa").nationality == "USA"


def test_permanent_id_2017_example():
    doc = parse("foreign_permanent_id", "usa310185110716")
    assert doc == Document("foreign_permanent_id", "USA310185110716", "USA",
                           datetime.date(1985, 11, 7), None, "310100")


def test_permanent_id_2017_century_is_left_open_when_both_fit():
    assert parse("foreign_permanent_id", "USA310105010113").birthdate is None
    # 1900 was no leap year, so 00-02-29 can only be 2000
    assert parse("foreign_permanent_id", "USA310100022919").birthdate == datetime.date(2000, 2,
                                                                                     29)


@pytest.mark.parametrize(("raw", "nationality", "code"), [
    ("93184019851107123", None, "length"),
    ("USA31018511071", None, "length"),
    ("93184019851107123A", None, "characters"),
    ("831840198511071231", None, "prefix"),
    ("11010519491231002X", None, "prefix"),
    ("999840198511071231", None, "region"),
    ("931999198511071238", None, "nationality"),
    ("931156198511071234", None, "domestic_nationality"),
    ("931840198513071231", None, "birth_date"),
    ("931840198511071230", None, "check_character"),
    ("931840198511071231", "DEU", "nationality_mismatch"),
    ("US1310185110716", None, "characters"),
    ("USA3101851107A6", None, "characters"),
    ("ZZZ310185110716", None, "nationality"),
    ("CHN310185110716", None, "domestic_nationality"),
    ("USA990185110716", None, "region"),
    ("USA310185023016", None, "birth_date"),
    ("USA310185110715", None, "check_character"),
    ("USA310185110716", "GBR", "nationality_mismatch"),
])
def test_permanent_id_errors(raw, nationality, code):
    assert error("foreign_permanent_id", raw, nationality).code == code


def test_nationality_mismatch_names_the_number_s_nationality():
    e = error("foreign_permanent_id", "931840198511071231", "DEU")
    assert e.message == "The nationality does not match the one in the number (USA)."


# ---------------------------------------------------------------- labels, errors, mask

def test_every_type_has_a_label():
    assert DOCUMENT_TYPES == ("resident_id", "hmt_residence_permit", "hk_macao_permit",
                              "taiwan_permit", "foreign_passport", "foreign_permanent_id")
    labels = {type_label(t) for t in DOCUMENT_TYPES}
    assert len(labels) == len(DOCUMENT_TYPES)
    assert type_label("resident_id") == "Resident identity card"
    with pytest.raises(DocumentError) as info:
        type_label("driving_licence")
    assert info.value.code == "unknown_type"


def test_unknown_type_is_a_document_error():
    assert error("driving_licence", "123").code == "unknown_type"
    assert error(None, "123").code == "unknown_type"


def test_messages_need_no_application_context_and_work_inside_one():
    e = error("resident_id", "110105202302300020")
    outside = e.message
    app = Flask(__name__)
    Babel(app)
    with app.test_request_context(), force_locale("en"):
        assert e.message == outside
        assert type_label("foreign_passport") == "Foreign passport"


def test_document_error_is_a_value_error_and_survives_pickling():
    e = error("resident_id", "110105202302300020")
    assert isinstance(e, ValueError)
    copy = pickle.loads(pickle.dumps(e))
    assert (copy.code, copy.params, copy.message) == (e.code, e.params, e.message)
    assert str(e) == e.message
    assert "110105" not in repr(e)  # the number itself never travels in the error


def test_mask_examples():
    assert mask("11010519491231002X") == "110***********002X"
    assert mask("H12345678") == "H12**5678"
    assert mask("12345678") == "******78"
    assert mask("E1234") == "***34"
    assert mask("AB") == "**"
    assert mask("") == ""


# ---------------------------------------------------------------- properties

@given(resident_ids())
def test_numbers_built_by_the_rule_are_valid(case):
    number, born, seq = case
    assert iso7064_ok(number)
    doc = parse("resident_id", number)
    assert doc.number == number
    assert doc.birthdate == born
    assert doc.gender == ("male" if seq % 2 else "female")
    assert doc.region == number[:6]


@given(resident_ids(), st.data())
def test_typing_variants_parse_to_the_same_number(case, data):
    number = case[0]
    fullwidth = data.draw(st.lists(st.booleans(), min_size=18, max_size=18))
    spaces = data.draw(st.lists(st.sampled_from(["", " ", "\u3000", "\t"]), min_size=19,
                                max_size=19))
    typed = spaces[0] + "".join(
        (chr(ord(ch) + 0xFEE0) if wide else ch).lower() + gap
        for ch, wide, gap in zip(number, fullwidth, spaces[1:], strict=True))
    assert parse("resident_id", typed).number == number


@given(resident_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_changing_one_character_makes_the_number_invalid(case, position, new):
    number = case[0]
    if new == number[position] or (new == "X" and position != 17):
        return
    changed = number[:position] + new + number[position + 1:]
    with pytest.raises(DocumentError) as info:
        parse("resident_id", changed)
    if position == 17:
        assert info.value.code == "check_character"


@given(hmt_permits())
def test_residence_permits_built_by_the_rule_are_valid(case):
    number, born, seq = case
    doc = parse("hmt_residence_permit", number)
    assert (doc.birthdate, doc.gender, doc.region) == (
        born, "male" if seq % 2 else "female", number[:6])
    with pytest.raises(DocumentError):
        parse("resident_id", number)


@given(permanent_ids_2023())
def test_2023_permanent_ids_built_by_the_rule_are_valid(case):
    number, alpha3, born, seq = case
    doc = parse("foreign_permanent_id", number, alpha3.lower())
    assert doc.nationality == alpha3
    assert doc.birthdate == born
    assert doc.gender == ("male" if seq % 2 else "female")
    assert doc.region == number[1:3] + "0000"
    wrong = number[:17] + next(c for c in "0123456789X" if c != number[17])
    with pytest.raises(DocumentError) as info:
        parse("foreign_permanent_id", wrong)
    assert info.value.code == "check_character"


@given(permanent_ids_2017())
def test_2017_permanent_ids_built_by_the_rule_are_valid(case):
    number, alpha3, born = case
    doc = parse("foreign_permanent_id", number)
    assert doc.nationality == alpha3
    assert doc.gender is None
    try:
        other = born.replace(year=born.year + 100 if born.year < 2000 else born.year - 100)
    except ValueError:  # 29 February in a century that has none
        other = None
    if other is not None and other <= TODAY:
        assert doc.birthdate is None
    else:
        assert doc.birthdate == born


TYPES = st.sampled_from([*DOCUMENT_TYPES, "", "bogus"])
LIKELY = st.text(alphabet="0123456789XxHMhm ()（）<-\x00😀１Ｘ\u3000", max_size=24)


@settings(max_examples=500)
@given(TYPES, st.one_of(st.text(), LIKELY, st.text(min_size=60, max_size=80)),
       st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["usa", "D<<", "CHN", "KAZ"])))
@example("resident_id", "1" * 1_000_000, None)
@example("foreign_passport", "A1", "x" * 1_000_000)
@example("foreign_permanent_id", "KAZ110090123105", "\x00")
def test_arbitrary_text_raises_only_document_errors(doc_type, raw, nationality):
    try:
        doc = parse(doc_type, raw, nationality)
    except DocumentError as e:
        assert isinstance(e.code, str)
        assert isinstance(e.message, str) and e.message
    else:
        assert isinstance(doc, Document)
        assert doc.doc_type == doc_type
        assert doc.number == documents.normalise(raw)


@given(st.text(min_size=9))
def test_mask_keeps_length_first_three_and_last_four(number):
    masked = mask(number)
    assert len(masked) == len(number)
    assert masked[:3] == number[:3]
    assert masked[-4:] == number[-4:]
    assert set(masked[3:-4]) <= {"*"}


@given(st.text(min_size=3, max_size=8))
def test_mask_of_short_numbers_keeps_the_last_two(number):
    masked = mask(number)
    assert len(masked) == len(number)
    assert masked[-2:] == number[-2:]
    assert set(masked[:-2]) <= {"*"}


def test_the_holder_key_survives_renewals_and_tells_passports_apart():
    old = documents.parse("hk_macao_permit", "H1234567801")
    new = documents.parse("hk_macao_permit", "H12345678")
    assert old.holder_key == new.holder_key == "H12345678"
    assert documents.parse("taiwan_permit", "0561682001").holder_key == "05616820"
    french = documents.parse("foreign_passport", "12AB34567", "FRA")
    german = documents.parse("foreign_passport", "12AB34567", "DEU")
    assert french.holder_key != german.holder_key
    resident = documents.parse("resident_id", "11010519491231002X")
    assert resident.holder_key == resident.number
