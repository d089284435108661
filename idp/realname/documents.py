"""Identity documents a citizen or resident may bind to an account, and what their numbers say.

``parse(doc_type, raw, nationality=None)`` normalises a typed number (surrounding and inner
whitespace removed, full-width ASCII such as ``１１０１`` folded to ``1101``, upper case) and
checks it against the scheme of the document type, one problem at a time in the order of the
number (length, characters, region, birth date, check character). It returns a ``Document``
or raises ``DocumentError`` -- and nothing else, whatever the string -- whose ``code`` is for
programs and whose ``message`` is for people, in the language of the page (Flask-Babel; with
no application context the English text).

What each validator checks, and what it does not:

``resident_id`` -- 居民身份证, GB 11643-1999: 18 characters, 17 digits and a digit or X; the
    first two digits a province-level code of GB/T 2260 (11-15, 21-23, 31-37, 41-46, 50-54,
    61-65); the birth date YYYYMMDD a real date from 1900-01-01 to today (China time); the
    ISO 7064 MOD 11-2 check character. The sequence gives the sex (odd male, even female).
    Numbers of 15 digits (GB 11643-1989, no birth century, no check) are refused with code
    ``legacy_15``: every holder has had an 18-digit number since 2013. The full six-digit
    county code is *not* checked against the GB/T 2260 list: codes are retired and renumbered
    over the years while the numbers issued under them stay valid for life, so a list would
    reject real people. That the number was ever issued only the registry can say.
``hmt_residence_permit`` -- 港澳台居民居住证 (2018): the same 18-character scheme, but the
    region is exactly 810000 (Hong Kong), 820000 (Macao) or 830000 (Taiwan); 81/82/83 are
    refused as ``resident_id`` and any other region here.
``hk_macao_permit`` -- 港澳居民来往内地通行证: H (Hong Kong) or M (Macao) and the holder's
    8-digit lifelong number; older permits print two more digits, the number of times the
    permit was renewed (Ministry of Public Security, 2010: 11 characters, "00" at first issue).
    There is no check digit, so only the form is checked. ``region`` is 810000 or 820000.
``taiwan_permit`` -- 台湾居民来往大陆通行证: the 8-digit lifelong number (all permits since
    25 September 2008, and the card of 2015). Permits of 1992-2008 carry 10 digits (the
    lifelong number and a 2-digit issue count), from Hong Kong and Macao issuers followed by
    the issuing office in brackets, e.g. ``0561682001(D)``; these forms are accepted. No check
    digit exists; only the form is checked.
``foreign_passport`` -- 外国护照: the ICAO 9303 document number, 1 to 9 of A-Z and 0-9 (numbers
    longer than 9 characters, which ICAO lets a state continue in the optional data field,
    are refused), and a nationality that is required: an ISO 3166-1 alpha-3 code (pycountry)
    or one of the few ICAO 9303 Part 3 codes printed on passports instead (``ICAO_NATIONALITIES``;
    ``D`` or ``D<<`` for Germany is stored as DEU). Chinese citizens and residents of Hong
    Kong, Macao and Taiwan (CHN, HKG, MAC, TWN) are refused: they have their own documents.
    Issuing states' own number formats and check digits are not checked (no public list).
``foreign_permanent_id`` -- 外国人永久居留身份证, two numbering schemes:
    * 18 characters (cards issued from 1 December 2023; National Immigration Administration,
      "machine-readable information rules for the new card", 2023): ``9``, the 2-digit
      province code of the accepting authority, the 3-digit ISO 3166-1 numeric nationality,
      the birth date YYYYMMDD, a 3-digit sequence (odd male, even female as in GB 11643) and
      the MOD 11-2 check character. All of it is checked; the nationality must exist in
      ISO 3166-1 and must not be CHN/HKG/MAC/TWN.
    * 15 characters (the 2004 and 2017 cards): 3 letters of nationality (GB/T 2659 = ISO
      3166-1 alpha-3), 4 digits of the accepting authority (province and prefecture), the
      birth date YYMMDD, one sequence digit and a check digit computed with the ICAO 9303
      weights 7-3-1 over the first 14 characters (A=10 ... Z=35), modulo 10. No official
      publication of this structure could be found; it is the structure three independent
      public implementations agree on. Checked: letters, nationality, province, that the
      birth date is a real date in 19YY or 20YY, and the check digit. Not derived: the sex
      (no source says what the sequence digit means) and, when both 19YY and 20YY are
      possible (YY up to this year), the century -- ``birthdate`` is then None.
    The nationality passed by the caller, if any, must match the one in the number.

``mask(number)`` shows a number in logs and pages; ``check_character(first17)`` computes the
GB 11643 check character.
"""

import datetime
import re
from dataclasses import dataclass

import pycountry
from flask_babel import gettext as _

RESIDENT_ID = "resident_id"
HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
HK_MACAO_PERMIT = "hk_macao_permit"
TAIWAN_PERMIT = "taiwan_permit"
FOREIGN_PASSPORT = "foreign_passport"
FOREIGN_PERMANENT_ID = "foreign_permanent_id"

DOCUMENT_TYPES = (
    RESIDENT_ID,
    HMT_RESIDENCE_PERMIT,
    HK_MACAO_PERMIT,
    TAIWAN_PERMIT,
    FOREIGN_PASSPORT,
    FOREIGN_PERMANENT_ID,
)

#: Province-level codes of GB/T 2260 valid as the start of a mainland number (71 Taiwan
#: province and 81/82 Hong Kong/Macao are in GB/T 2260 but never start a resident number).
MAINLAND_PROVINCES = frozenset(
    f"{n:02d}" for n in (*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47),
                         *range(50, 55), *range(61, 66))
)
#: Regions of the residence permits for Hong Kong, Macao and Taiwan residents.
HMT_REGIONS = frozenset({"810000", "820000", "830000"})

#: ICAO 9303 Part 3 codes printed as nationality on passports that are not ISO 3166-1 codes:
#: Germany's "D", the five British nationality statuses, United Nations documents, stateless
#: persons and refugees, and the Sovereign Military Order of Malta. Other organisations'
#: codes (Interpol, ECOWAS, ...) are laissez-passer, not passports, and are left out.
ICAO_NATIONALITIES = {
    "D": "DEU",  # Germany writes "D<<"
    "GBD": "GBD",  # British Overseas Territories citizen
    "GBN": "GBN",  # British National (Overseas)
    "GBO": "GBO",  # British Overseas citizen
    "GBP": "GBP",  # British protected person
    "GBS": "GBS",  # British subject
    "UNO": "UNO",  # United Nations Organization official
    "UNA": "UNA",  # official of a United Nations specialized agency
    "UNK": "UNK",  # resident of Kosovo, document issued by UNMIK
    "XOM": "XOM",  # Sovereign Military Order of Malta
    "XXA": "XXA",  # stateless person (1954 Convention)
    "XXB": "XXB",  # refugee (1951 Convention)
    "XXC": "XXC",  # refugee (other)
    "XXX": "XXX",  # unspecified nationality
}
#: Not foreign: these people bind a resident identity card or one of the HMT documents.
DOMESTIC_NATIONALITIES = frozenset({"CHN", "HKG", "MAC", "TWN"})

#: Longest input looked at; anything longer is refused before any other work.
MAX_INPUT = 64
PASSPORT_MAX = 9
FIRST_BIRTH_DATE = datetime.date(1900, 1, 1)
CHINA_TIME = datetime.timezone(datetime.timedelta(hours=8))

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_DIGITS = frozenset("0123456789")
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# full-width ASCII (U+FF01-U+FF5E) to ASCII, ideographic space to space
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_SANE_CODE = re.compile(r"[A-Z]{1,3}")


def _today() -> datetime.date:
    """Today in China (UTC+8, no daylight saving): the calendar the birth dates use."""
    return datetime.datetime.now(CHINA_TIME).date()


def type_label(doc_type: str) -> str:
    """The document type's name in the page's language."""
    labels = {
        RESIDENT_ID: _("Resident identity card"),
        HMT_RESIDENCE_PERMIT: _("Residence permit for Hong Kong, Macao and Taiwan residents"),
        HK_MACAO_PERMIT: _("Mainland travel permit for Hong Kong and Macao residents"),
        TAIWAN_PERMIT: _("Mainland travel permit for Taiwan residents"),
        FOREIGN_PASSPORT: _("Foreign passport"),
        FOREIGN_PERMANENT_ID: _("Foreign permanent resident ID card"),
    }
    if doc_type in labels:
        return labels[doc_type]
    raise DocumentError("unknown_type")


class DocumentError(ValueError):
    """A number that does not fit its document's scheme. ``code`` names the problem for
    programs; ``params`` holds its details (never the number itself); ``message`` is the
    sentence for people, translated when it is read."""

    def __init__(self, code: str, /, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def message(self) -> str:
        return _message(self.code, self.params)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"DocumentError({self.code!r}, {self.params!r})"


def _message(code: str, p: dict) -> str:
    doc_type = p.get("doc_type")
    if code == "unknown_type":
        return _("This type of identity document is not supported.")
    if code == "empty":
        return _("Enter the document number.")
    if code == "length":
        actual = p.get("actual")
        if actual is None:
            return _("The number is too long.")
        if doc_type == FOREIGN_PERMANENT_ID:
            return _("The number must have 15 characters (cards issued before December 2023) "
                     "or 18 characters; this one has %(actual)d.", actual=actual)
        if doc_type == HK_MACAO_PERMIT:
            return _("The permit number must have 9 characters (11 on older permits); this "
                     "one has %(actual)d.", actual=actual)
        if doc_type == TAIWAN_PERMIT:
            return _("The permit number must have 8 digits, or 10 on older permits; this one "
                     "has %(actual)d characters.", actual=actual)
        if doc_type == FOREIGN_PASSPORT:
            return _("A passport number has at most 9 characters; this one has %(actual)d.",
                     actual=actual)
        return _("The number must have 18 characters; this one has %(actual)d.", actual=actual)
    if code == "legacy_15":
        return _("This is an old 15-digit number. Enter the 18-digit number of your current "
                 "identity card.")
    if code == "characters":
        if doc_type == FOREIGN_PERMANENT_ID and p.get("length") == 15:
            return _("A 15-character number must be 3 letters followed by 12 digits.")
        if doc_type == HK_MACAO_PERMIT:
            return _("The permit number must be H (Hong Kong) or M (Macao) followed by digits.")
        if doc_type == TAIWAN_PERMIT:
            return _("The permit number must consist of digits (older permits may end in a "
                     "letter or digit in brackets).")
        if doc_type == FOREIGN_PASSPORT:
            return _("A passport number may contain only the letters A to Z and digits.")
        return _("Only digits are allowed, and X as the last character.")
    if code == "prefix":
        return _("An 18-character permanent resident ID number starts with 9.")
    if code == "region":
        if doc_type == HMT_RESIDENCE_PERMIT:
            return _("A residence permit number for Hong Kong, Macao and Taiwan residents "
                     "starts with 810000, 820000 or 830000.")
        if doc_type == RESIDENT_ID and p.get("code") in ("81", "82", "83"):
            return _("Numbers starting with %(code)s belong to residence permits for Hong Kong, "
                     "Macao and Taiwan residents.", code=p["code"])
        return _("The code %(code)s is not a province of mainland China.", code=p.get("code"))
    if code == "birth_date":
        return _("Birth date %(date)s is not a date.", date=p.get("date"))
    if code == "future_birth_date":
        return _("Birth date %(date)s is in the future.", date=p.get("date"))
    if code == "early_birth_date":
        return _("Birth date %(date)s is before 1900.", date=p.get("date"))
    if code == "check_character":
        return _("The check character does not match.")
    if code == "nationality_required":
        return _("Choose the nationality shown in the passport.")
    if code == "nationality":
        if p.get("code"):
            return _("%(code)s is not a country code.", code=p["code"])
        return _("The nationality is not a valid country code.")
    if code == "domestic_nationality":
        return _("%(code)s is not a foreign nationality: Chinese citizens and residents of Hong "
                 "Kong, Macao and Taiwan use their own identity documents.", code=p.get("code"))
    if code == "nationality_mismatch":
        return _("The nationality does not match the one in the number (%(code)s).",
                 code=p.get("code"))
    return _("The document number is not valid.")


@dataclass(frozen=True)
class Document:
    """A number that fits its scheme, and what the number itself says about its holder."""

    doc_type: str
    #: normalised: no whitespace, full-width ASCII folded, upper case
    number: str
    #: ISO 3166-1 alpha-3 (or an ICAO code, ``ICAO_NATIONALITIES``) where the document says it
    nationality: str | None = None
    birthdate: datetime.date | None = None
    #: "male" or "female" where the number encodes it
    gender: str | None = None
    #: six-digit GB/T 2260 code where the scheme has one
    region: str | None = None

    @property
    def holder_key(self) -> str:
        """What identifies the holder across renewals of the document: the lifelong part of a
        travel permit's number (H/M + 8 digits; Taiwan: 8 digits) and a passport's number
        with its nationality (numbers repeat across countries)."""
        if self.doc_type == HK_MACAO_PERMIT:
            return self.number[:9]
        if self.doc_type == TAIWAN_PERMIT:
            return self.number[:8]
        if self.doc_type == FOREIGN_PASSPORT:
            return f"{self.nationality}:{self.number}"
        return self.number


def normalise(raw: str) -> str:
    """Whitespace (inner too) removed, full-width ASCII folded to ASCII, upper case."""
    return "".join(raw.translate(_FOLD).split()).upper()


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of GB 11643 for 17 digits."""
    if not isinstance(first17, str) or len(first17) != 17:
        raise DocumentError("length", actual=len(first17) if isinstance(first17, str) else 0)
    if not set(first17) <= _DIGITS:
        raise DocumentError("characters")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def _icao_check_digit(text: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1 repeated; A=10 ... Z=35; modulo 10."""
    total = 0
    for i, ch in enumerate(text):
        value = int(ch) if ch in _DIGITS else ord(ch) - 55
        total += value * (7, 3, 1)[i % 3]
    return str(total % 10)


def mask(number: str) -> str:
    """The first 3 and last 4 characters, the rest as '*' one for one; numbers of 8 characters
    or fewer keep only their last 2 (and numbers of 2 or fewer are hidden entirely)."""
    n = len(number)
    if n <= 2:
        return "*" * n
    if n <= 8:
        return "*" * (n - 2) + number[-2:]
    return number[:3] + "*" * (n - 7) + number[-4:]


def _iso_date(digits: str) -> str:
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:8]}"


def _birth_date(digits: str) -> datetime.date:
    """YYYYMMDD (8 ASCII digits) as a date within [1900-01-01, today]."""
    shown = _iso_date(digits)
    try:
        born = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise DocumentError("birth_date", date=shown) from None
    if born > _today():
        raise DocumentError("future_birth_date", date=shown)
    if born < FIRST_BIRTH_DATE:
        raise DocumentError("early_birth_date", date=shown)
    return born


def _gender(sequence_digit: str) -> str:
    return "male" if int(sequence_digit) % 2 else "female"


def _gb11643_body(doc_type: str, number: str) -> None:
    """Length and characters of an 18-character GB 11643-style number."""
    if len(number) != 18:
        raise DocumentError("length", doc_type=doc_type, actual=len(number))
    if not (set(number[:17]) <= _DIGITS and (number[17] in _DIGITS or number[17] == "X")):
        raise DocumentError("characters", doc_type=doc_type)


def _check(number: str) -> None:
    if check_character(number[:17]) != number[17]:
        raise DocumentError("check_character")


def _nationality_code(value: str | None) -> str | None:
    """A nationality as typed (``deu``, ``Ｄ<<``) to the stored code, or a DocumentError."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_INPUT:
        raise DocumentError("nationality")
    code = normalise(value).rstrip("<")
    if not code:
        return None
    if not _SANE_CODE.fullmatch(code):
        raise DocumentError("nationality")
    if code in ICAO_NATIONALITIES:
        return ICAO_NATIONALITIES[code]
    if len(code) != 3 or pycountry.countries.get(alpha_3=code) is None:
        raise DocumentError("nationality", code=code)
    return code


def _foreign(code: str) -> str:
    if code in DOMESTIC_NATIONALITIES:
        raise DocumentError("domestic_nationality", code=code)
    return code


def _resident_id(number: str) -> Document:
    if len(number) == 15 and set(number) <= _DIGITS:
        raise DocumentError("legacy_15")
    _gb11643_body(RESIDENT_ID, number)
    province = number[:2]
    if province not in MAINLAND_PROVINCES:
        raise DocumentError("region", doc_type=RESIDENT_ID, code=province)
    born = _birth_date(number[6:14])
    _check(number)
    return Document(RESIDENT_ID, number, birthdate=born, gender=_gender(number[16]),
                    region=number[:6])


def _hmt_residence_permit(number: str) -> Document:
    _gb11643_body(HMT_RESIDENCE_PERMIT, number)
    if number[:6] not in HMT_REGIONS:
        raise DocumentError("region", doc_type=HMT_RESIDENCE_PERMIT, code=number[:6])
    born = _birth_date(number[6:14])
    _check(number)
    return Document(HMT_RESIDENCE_PERMIT, number, birthdate=born, gender=_gender(number[16]),
                    region=number[:6])


def _hk_macao_permit(number: str) -> Document:
    if len(number) not in (9, 11):
        raise DocumentError("length", doc_type=HK_MACAO_PERMIT, actual=len(number))
    if number[0] not in "HM" or not set(number[1:]) <= _DIGITS:
        raise DocumentError("characters", doc_type=HK_MACAO_PERMIT)
    return Document(HK_MACAO_PERMIT, number, region="810000" if number[0] == "H" else "820000")


_TAIWAN_OLD_WITH_OFFICE = re.compile(r"[0-9]{10}\([0-9A-Z]\)")


def _taiwan_permit(number: str) -> Document:
    if len(number) not in (8, 10, 13):
        raise DocumentError("length", doc_type=TAIWAN_PERMIT, actual=len(number))
    if len(number) == 13:
        ok = _TAIWAN_OLD_WITH_OFFICE.fullmatch(number) is not None and number.isascii()
    else:
        ok = set(number) <= _DIGITS
    if not ok:
        raise DocumentError("characters", doc_type=TAIWAN_PERMIT)
    return Document(TAIWAN_PERMIT, number)


def _foreign_passport(number: str, nationality: str | None) -> Document:
    if len(number) > PASSPORT_MAX:
        raise DocumentError("length", doc_type=FOREIGN_PASSPORT, actual=len(number))
    if not set(number) <= _DIGITS | _LETTERS:
        raise DocumentError("characters", doc_type=FOREIGN_PASSPORT)
    code = _nationality_code(nationality)
    if code is None:
        raise DocumentError("nationality_required")
    return Document(FOREIGN_PASSPORT, number, nationality=_foreign(code))


def _foreign_permanent_id(number: str, nationality: str | None) -> Document:
    if len(number) == 18:
        document = _permanent_id_2023(number)
    elif len(number) == 15:
        document = _permanent_id_2017(number)
    else:
        raise DocumentError("length", doc_type=FOREIGN_PERMANENT_ID, actual=len(number))
    given = _nationality_code(nationality)
    if given is not None and given != document.nationality:
        raise DocumentError("nationality_mismatch", code=document.nationality)
    return document


def _permanent_id_2023(number: str) -> Document:
    _gb11643_body(FOREIGN_PERMANENT_ID, number)
    if number[0] != "9":
        raise DocumentError("prefix")
    province = number[1:3]
    if province not in MAINLAND_PROVINCES:
        raise DocumentError("region", doc_type=FOREIGN_PERMANENT_ID, code=province)
    country = pycountry.countries.get(numeric=number[3:6])
    if country is None:
        raise DocumentError("nationality", code=number[3:6])
    code = _foreign(country.alpha_3)
    born = _birth_date(number[6:14])
    _check(number)
    return Document(FOREIGN_PERMANENT_ID, number, nationality=code, birthdate=born,
                    gender=_gender(number[16]), region=province + "0000")


def _permanent_id_2017(number: str) -> Document:
    if not (set(number[:3]) <= _LETTERS and set(number[3:]) <= _DIGITS):
        raise DocumentError("characters", doc_type=FOREIGN_PERMANENT_ID, length=15)
    letters = number[:3]
    if pycountry.countries.get(alpha_3=letters) is None and letters not in ICAO_NATIONALITIES:
        raise DocumentError("nationality", code=letters)
    code = _foreign(letters)
    province = number[3:5]
    if province not in MAINLAND_PROVINCES:
        raise DocumentError("region", doc_type=FOREIGN_PERMANENT_ID, code=province)
    born = _two_digit_year_birth_date(number[7:13])
    if _icao_check_digit(number[:14]) != number[14]:
        raise DocumentError("check_character")
    return Document(FOREIGN_PERMANENT_ID, number, nationality=code, birthdate=born,
                    region=number[3:7] + "00")


def _two_digit_year_birth_date(yymmdd: str) -> datetime.date | None:
    """YYMMDD: a real date in 19YY or 20YY, not in the future; None when both centuries fit.
    (19YY is never in the future, so a real date never is either.)"""
    today = _today()
    candidates = []
    for century in ("19", "20"):
        try:
            born = datetime.date(int(century + yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
        except ValueError:
            continue
        if born <= today:
            candidates.append(born)
    if not candidates:
        raise DocumentError("birth_date", date=f"{yymmdd[:2]}-{yymmdd[2:4]}-{yymmdd[4:]}")
    return candidates[0] if len(candidates) == 1 else None


_PARSERS = {
    RESIDENT_ID: _resident_id,
    HMT_RESIDENCE_PERMIT: _hmt_residence_permit,
    HK_MACAO_PERMIT: _hk_macao_permit,
    TAIWAN_PERMIT: _taiwan_permit,
}


def parse(doc_type: str, raw: str, nationality: str | None = None) -> Document:
    """The document ``raw`` names, or a DocumentError saying the first thing wrong with it.

    ``nationality`` is required for ``foreign_passport``, optional for
    ``foreign_permanent_id`` (then it must match the number) and ignored otherwise."""
    if not isinstance(doc_type, str) or doc_type not in DOCUMENT_TYPES:
        raise DocumentError("unknown_type")
    if raw is None:
        raise DocumentError("empty")
    if not isinstance(raw, str):
        raise DocumentError("characters", doc_type=doc_type)
    if len(raw) > MAX_INPUT:
        raise DocumentError("length", doc_type=doc_type)
    number = normalise(raw)
    if not number:
        raise DocumentError("empty")
    if doc_type == FOREIGN_PASSPORT:
        return _foreign_passport(number, nationality)
    if doc_type == FOREIGN_PERMANENT_ID:
        return _foreign_permanent_id(number, nationality)
    return _PARSERS[doc_type](number)
