"""Chinese identifiers: mainland mobile numbers, vehicle plates (GA 36), VINs (GB 16735 /
ISO 3779) and traction-battery codes (GB/T 34014).

Each ``normalize_*`` folds what people type (full-width characters, lower case, spaces and
dashes) into the canonical form, or raises ``InvalidIdentifier`` with a stable code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class InvalidIdentifier(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fold(raw: str) -> str:
    """Full-width to half-width (NFKC), upper case, without spaces, dashes and dots."""
    folded = unicodedata.normalize("NFKC", raw).upper()
    return re.sub(r"[\s\-·.]", "", folded)


# --- Mobile numbers ---------------------------------------------------------------------
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def normalize_phone(raw: str) -> str:
    """A mainland mobile number as its 11 digits; +86 / 0086 prefixes are dropped."""
    digits = fold(raw).replace("(", "").replace(")", "")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if not _MOBILE.match(digits):
        raise InvalidIdentifier("phone_invalid", str(_("Enter a mainland mobile number of 11 digits starting with 1.")))
    return digits


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "***"


# --- Vehicle plates (GA 36) -------------------------------------------------------------
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # I and O are never used
_P = f"[{PROVINCES}]"


class PlateKind(StrEnum):
    ORDINARY = "ordinary"
    NEW_ENERGY_SMALL = "new_energy_small"  # green, cars: 冀JD12345
    NEW_ENERGY_LARGE = "new_energy_large"  # yellow-green, trucks and buses: 冀J12345D
    TRAILER = "trailer"  # 冀J1234挂


@dataclass(frozen=True)
class Plate:
    number: str
    kind: PlateKind

    @property
    def is_new_energy(self) -> bool:
        return self.kind in (PlateKind.NEW_ENERGY_SMALL, PlateKind.NEW_ENERGY_LARGE)


def normalize_plate(raw: str, *, new_energy_letters: str = "DF") -> Plate:
    plate = fold(raw)
    # Only plate letters (never I or O) can mark a new-energy plate: anything else in the setting
    # ("D,F", "DFI", "") must neither widen the character class nor break the pattern.
    energy = "".join(sorted(set(re.sub(f"[^{_LETTER}]", "", fold(new_energy_letters)))))
    if energy and re.fullmatch(f"{_P}[{_LETTER}][{energy}][{_LETTER}0-9][0-9]{{4}}", plate):
        return Plate(plate, PlateKind.NEW_ENERGY_SMALL)
    if energy and re.fullmatch(f"{_P}[{_LETTER}][0-9]{{5}}[{energy}]", plate):
        return Plate(plate, PlateKind.NEW_ENERGY_LARGE)
    if re.fullmatch(f"{_P}[{_LETTER}][{_LETTER}0-9]{{4}}挂", plate):
        return Plate(plate, PlateKind.TRAILER)
    if re.fullmatch(f"{_P}[{_LETTER}][{_LETTER}0-9]{{5}}", plate) and sum(c.isalpha() for c in plate[2:]) <= 2:
        return Plate(plate, PlateKind.ORDINARY)
    raise InvalidIdentifier(
        "plate_invalid",
        str(_("Enter a plate such as 冀J12345D (new-energy truck), 冀JD12345 (new-energy car) or 冀J12345.")),
    )


# --- VIN (GB 16735, ISO 3779 check digit in position 9) ---------------------------------
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(raw: str) -> str:
    vin = fold(raw)
    if not _VIN.match(vin):
        raise InvalidIdentifier("vin_invalid", str(_("A VIN has 17 letters and digits, without I, O or Q.")))
    if vin[8] != vin_check_digit(vin):
        raise InvalidIdentifier("vin_check_digit", str(_("The VIN's check digit (9th character) does not match.")))
    return vin


# --- Traction-battery codes (GB/T 34014-2017) --------------------------------------------
_BATTERY_CODE = re.compile(r"^[A-Z0-9]{3}[PMC][A-GZ][A-Z0-9]{2}[A-Z0-9]{7}[1-9A-HJ-NPR-Y][1-9A-C][1-9A-HJ-NPR-Y][0-9]{7}$")

BATTERY_CHEMISTRY = {
    "A": "NiMH",
    "B": "LFP",
    "C": "LMO",
    "D": "LCO",
    "E": "NCM",
    "F": "supercapacitor",
    "G": "LTO",
    "Z": "other",
}


@dataclass(frozen=True)
class BatteryCode:
    code: str

    @property
    def manufacturer(self) -> str:
        return self.code[:3]

    @property
    def product_type(self) -> str:
        return self.code[3]

    @property
    def chemistry(self) -> str:
        return BATTERY_CHEMISTRY[self.code[4]]

    @property
    def serial(self) -> str:
        return self.code[17:]


def normalize_battery_code(raw: str) -> BatteryCode:
    code = fold(raw)
    if len(code) != 24:
        raise InvalidIdentifier("battery_code_invalid", str(_("A GB/T 34014 battery code has 24 characters.")))
    if not _BATTERY_CODE.match(code):
        raise InvalidIdentifier(
            "battery_code_invalid",
            str(_("Not a GB/T 34014 battery code: check the product type, chemistry and production date.")),
        )
    return BatteryCode(code)


# --- Resident ID numbers (GB 11643-1999) -------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Province-level codes of the address part (71 Taiwan, 81 Hong Kong, 82 Macao, 83 for the
# residence permits of people from Hong Kong, Macao and Taiwan).
ID_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46"}
    | {"50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"}
)


def id_check_character(first17: str) -> str:
    return _ID_CHECK[sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def normalize_id_number(raw: str, *, today: date | None = None) -> str:
    """An 18-character resident ID number: region, birth date and check character verified.

    The messages never repeat the number: it is personal data and must not reach a log.
    """
    number = fold(raw)
    if re.fullmatch(r"[0-9]{15}", number):
        raise InvalidIdentifier(
            "id_number_legacy", str(_("15-digit ID numbers are no longer valid; enter the 18-character number on your ID card."))
        )
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise InvalidIdentifier("id_number_invalid", str(_("A resident ID number has 17 digits and a check digit or X.")))
    if number[:2] not in ID_PROVINCES:
        raise InvalidIdentifier("id_number_invalid", str(_("The ID number's region code does not exist.")))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("id_number_invalid", str(_("The ID number's birth date does not exist."))) from None
    if born.year < 1900 or born > (today or date.today()):  # noqa: DTZ011 - a calendar date, not a moment
        raise InvalidIdentifier("id_number_invalid", str(_("The ID number's birth date is impossible.")))
    if number[17] != id_check_character(number[:17]):
        raise InvalidIdentifier("id_number_invalid", str(_("The ID number's check character does not match; check for a typo.")))
    return number


def mask_id_number(number: str) -> str:
    """``11010519491231002X`` → ``1101**********002X``: region and the last four only."""
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}" if len(number) > 8 else "*" * len(number)


def birth_date_of(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


# --- Unified social credit codes (GB 32100-2015) ------------------------------------------
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    total = sum(_USCC_CHARS.index(char) * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def normalize_credit_code(raw: str) -> str:
    """A company's 18-character unified social credit code, with its check character verified."""
    code = fold(raw)
    if not re.fullmatch(f"[{_USCC_CHARS}]{{2}}[0-9]{{6}}[{_USCC_CHARS}]{{10}}", code):
        raise InvalidIdentifier(
            "credit_code_invalid",
            str(_("A unified social credit code has 18 characters (digits and letters other than I, O, S, V, Z).")),
        )
    if code[17] != uscc_check_character(code[:17]):
        raise InvalidIdentifier(
            "credit_code_invalid", str(_("The credit code's check character does not match; check for a typo."))
        )
    return code
