"""Unified social credit codes (统一社会信用代码, GB 32100-2015) and the organisation code they
embed (组织机构代码, GB 11714-1997).

``parse(raw)`` normalises a typed code as identity numbers are (``idp.realname.documents``:
whitespace removed, full-width ASCII folded, upper case) and checks it one problem at a time in
the order of the code, raising ``CreditCodeError`` -- and nothing else, whatever the string --
whose ``code`` is for programs and whose ``message`` is for people:

* 18 characters (``length``) from the code's alphabet ``0-9 A-H J-N P Q R T U W X Y``: no I,
  O, S, V or Z (``characters``, naming the position);
* position 1, the registration authority (``authority``): 1 organisation establishment, 2
  foreign affairs, 3 justice, 4 culture, 5 civil affairs, 6 tourism, 7 religious affairs, 8
  trade unions, 9 market regulation, A the Central Military Commission's establishment office,
  N agriculture, Y other;
* position 2, the entity category that authority registers (``category``), e.g. 91 enterprise,
  92 individual business, 51 social organisation; it gives the ``entity_type``;
* positions 3-8, the region code of GB/T 2260 (``region``): six digits. As for identity
  numbers, the code is not looked up in the GB/T 2260 list: regions are renumbered while the
  codes issued under them stay valid, and central registrations use 100000;
* positions 9-17, the GB 11714 organisation code: eight characters and its check character,
  weights 3 7 9 10 5 8 4 2 over 0-9 A-Z (A = 10 … Z = 35), C9 = 11 - S mod 11, 10 written X
  and 11 written 0 (``organisation_check``);
* position 18, the check character (``check_character``): weights 3^(i-1) mod 31, C18 the
  character of value (31 - S mod 31) mod 31.

How strict: every check is applied. Some codes issued in the 2015 pilots fail the position-18
check; their holders were issued conforming codes during the transition that ended in 2017,
and the registry knows only those. A code that fails a check is refused with the precise
reason, never bound "as typed": an operator corrects it from the licence, and a person
registering an enterprise reads it off the business licence.

``check_character(first17)`` and ``organisation_check(body8)`` compute the two check
characters (tests build codes by the rule with them; synthetic codes only).
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from idp.realname.documents import DocumentError
from idp.realname.documents import normalise

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
MAX_INPUT = 64
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_DIGITS = frozenset("0123456789")

#: Position 1: the registration authority.
AUTHORITIES = {
    "1": lambda: _("organisation establishment authority"),
    "2": lambda: _("foreign affairs"),
    "3": lambda: _("justice administration"),
    "4": lambda: _("culture"),
    "5": lambda: _("civil affairs"),
    "6": lambda: _("tourism"),
    "7": lambda: _("religious affairs"),
    "8": lambda: _("trade unions"),
    "9": lambda: _("market regulation"),
    "A": lambda: _("the Central Military Commission's establishment office"),
    "N": lambda: _("agriculture"),
    "Y": lambda: _("other authorities"),
}

#: Positions 1-2: the entity category, as the entity type tokens carry (a stable name) and its
#: label (labels are functions: they are translated when called).
CATEGORIES = {
    "11": ("government_agency", lambda: _("Government agency")),
    "12": ("public_institution", lambda: _("Public institution")),
    "13": ("mass_organisation", lambda: _("Mass organisation")),
    "19": ("other_institution", lambda: _("Other institution")),
    "21": ("foreign_news_agency", lambda: _("Resident office of a foreign news agency")),
    "29": ("other_foreign_affairs", lambda: _("Other foreign-affairs registration")),
    "31": ("law_firm", lambda: _("Law firm")),
    "32": ("notary_office", lambda: _("Notary office")),
    "33": ("grassroots_legal_service", lambda: _("Grassroots legal service office")),
    "34": ("forensic_appraisal_institution", lambda: _("Forensic appraisal institution")),
    "35": ("arbitration_commission", lambda: _("Arbitration commission")),
    "39": ("other_justice", lambda: _("Other justice registration")),
    "41": ("foreign_cultural_centre", lambda: _("Foreign cultural centre")),
    "49": ("other_culture", lambda: _("Other cultural registration")),
    "51": ("social_organisation", lambda: _("Social organisation")),
    "52": ("private_non_enterprise_unit", lambda: _("Private non-enterprise unit")),
    "53": ("foundation", lambda: _("Foundation")),
    "59": ("other_civil_affairs", lambda: _("Other civil-affairs registration")),
    "61": ("foreign_tourism_office", lambda: _("Representative office of a foreign "
                                                  "tourism authority")),
    "62": ("hmt_tourism_office", lambda: _("Representative office of a Hong Kong, Macao "
                                              "or Taiwan tourism authority")),
    "69": ("other_tourism", lambda: _("Other tourism registration")),
    "71": ("religious_venue", lambda: _("Venue for religious activities")),
    "72": ("religious_school", lambda: _("Religious school")),
    "79": ("other_religious", lambda: _("Other religious registration")),
    "81": ("trade_union", lambda: _("Grassroots trade union")),
    "89": ("other_trade_union", lambda: _("Other trade-union registration")),
    "91": ("enterprise", lambda: _("Enterprise")),
    "92": ("individual_business", lambda: _("Individual business")),
    "93": ("farmers_cooperative", lambda: _("Farmers' specialised cooperative")),
    "A1": ("military_public_institution", lambda: _("Military public institution")),
    "A9": ("other_military", lambda: _("Other military registration")),
    "N1": ("group_collective_economic_organisation",
           lambda: _("Group-level collective economic organisation")),
    "N2": ("village_collective_economic_organisation",
           lambda: _("Village-level collective economic organisation")),
    "N3": ("township_collective_economic_organisation",
           lambda: _("Township-level collective economic organisation")),
    "N9": ("other_agricultural", lambda: _("Other agricultural registration")),
    "Y1": ("other", lambda: _("Other")),
}
#: Entity type -> its label.
ENTITY_TYPES = {slug: label for slug, label in CATEGORIES.values()}


def entity_type_label(entity_type: str) -> str:
    """The entity type's name in the page's language."""
    label = ENTITY_TYPES.get(entity_type)
    return label() if label is not None else entity_type


class CreditCodeError(DocumentError):
    """A code that does not fit GB 32100: as an identity number's error, ``code`` names the
    problem for programs, ``params`` its details, ``message`` the sentence for people
    (translated when read)."""

    @property
    def message(self) -> str:
        p = self.params
        if self.code == "empty":
            return _("Enter the unified social credit code.")
        if self.code == "length":
            if p.get("actual") is None:
                return _("The code is too long.")
            return _("A unified social credit code has 18 characters; this one has "
                     "%(actual)d.", actual=p["actual"])
        if self.code == "characters":
            return _("Position %(position)d: %(char)s is not used in credit codes (digits and "
                     "capital letters except I, O, S, V and Z).", position=p["position"],
                     char=p["char"])
        if self.code == "authority":
            return _("Position 1: %(code)s is not a registration authority.", code=p["code"])
        if self.code == "category":
            return _("Position 2: %(code)s is not a category that %(authority)s registers.",
                     code=p["code"], authority=AUTHORITIES[p["authority"]]())
        if self.code == "region":
            return _("Positions 3 to 8 must be a six-digit region code.")
        if self.code == "organisation_check":
            return _("The check character of the organisation code (position 17) does not "
                     "match.")
        return _("The check character (position 18) does not match.")


@dataclass(frozen=True)
class CreditCode:
    """A code that fits GB 32100, and what it says."""

    code: str
    #: position 1
    authority: str
    #: positions 1-2
    category: str
    #: positions 3-8
    region: str
    #: positions 9-17, as written on licences: ``XXXXXXXX-X``
    organisation_code: str

    @property
    def entity_type(self) -> str:
        return CATEGORIES[self.category][0]

    @property
    def authority_label(self) -> str:
        return AUTHORITIES[self.authority]()


def organisation_check(body8: str) -> str:
    """The GB 11714 check character of an eight-character organisation code body."""
    total = sum(_organisation_value(ch) * w
                for ch, w in zip(body8, _ORGANISATION_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def _organisation_value(ch: str) -> int:
    return int(ch) if ch in _DIGITS else ord(ch) - ord("A") + 10


def check_character(first17: str) -> str:
    """The GB 32100 check character (position 18) of the first 17 characters."""
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def parse(raw) -> CreditCode:
    """The code ``raw`` checked and normalised, or ``CreditCodeError``."""
    if not isinstance(raw, str) or not raw.strip():
        raise CreditCodeError("empty")
    if len(raw) > MAX_INPUT:
        raise CreditCodeError("length")
    code = normalise(raw)
    if len(code) != LENGTH:
        raise CreditCodeError("length", actual=len(code))
    for position, ch in enumerate(code, 1):
        if ch not in _VALUE:
            raise CreditCodeError("characters", position=position, char=ch)
    if code[0] not in AUTHORITIES:
        raise CreditCodeError("authority", code=code[0])
    if code[:2] not in CATEGORIES:
        raise CreditCodeError("category", code=code[1], authority=code[0])
    if not set(code[2:8]) <= _DIGITS:
        raise CreditCodeError("region")
    if organisation_check(code[8:16]) != code[16]:
        raise CreditCodeError("organisation_check")
    if check_character(code[:17]) != code[17]:
        raise CreditCodeError("check_character")
    return CreditCode(code=code, authority=code[0], category=code[:2], region=code[2:8],
                      organisation_code=f"{code[8:16]}-{code[16]}")
