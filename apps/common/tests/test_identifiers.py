"""The Chinese identifiers: mobile numbers, plates (GA 36), VINs (ISO 3779 / GB 16735), battery codes (GB/T 34014).

Pure functions: no database. Full-width characters are what people type, on purpose.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.common.identifiers import (
    BATTERY_CHEMISTRY,
    PROVINCES,
    BatteryCode,
    InvalidIdentifier,
    Plate,
    PlateKind,
    fold,
    mask_phone,
    normalize_battery_code,
    normalize_phone,
    normalize_plate,
    normalize_vin,
    vin_check_digit,
)


def _code_of(function, *args, **kwargs) -> str | None:
    """The InvalidIdentifier code a call raises, or None when it is accepted."""
    try:
        function(*args, **kwargs)
    except InvalidIdentifier as error:
        return error.code
    return None


# --- InvalidIdentifier and fold -----------------------------------------------------------------


def test_invalid_identifier_is_a_value_error_with_code_and_message():
    error = InvalidIdentifier("phone_invalid", "Enter a mobile number.")

    assert isinstance(error, ValueError)
    assert error.code == "phone_invalid"
    assert error.message == "Enter a mobile number."
    assert str(error) == "Enter a mobile number."


def test_invalid_identifier_message_is_a_plain_string():
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_phone("12")

    assert type(caught.value.message) is str
    assert caught.value.message


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("ａｂｃ１２３", "ABC123"),
        ("冀 j·12345-d", "冀J12345D"),
        ("138.0013.8000", "13800138000"),
        ("\u3000138\u00a00013\t8000\n", "13800138000"),
        ("１３８－００１３－８０００", "13800138000"),
    ],
)
def test_fold_makes_half_width_upper_case_without_separators(raw, folded):
    assert fold(raw) == folded


# --- Mobile numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+8613800138000",
        "+86 138 0013 8000",
        "+86-138-0013-8000",
        "008613800138000",
        "0086 138 0013 8000",
        "138 0013 8000",
        "138-0013-8000",
        " 13800138000 ",
        "１３８ ００１３ ８０００",
        "＋８６ １３８００１３８０００",
        "００８６１３８００１３８０００",
        "+86 (138) 0013 8000",
        "(+86) 138 0013 8000",
        "（+86）138 0013 8000",
    ],
)
def test_phone_written_in_any_common_form_normalises_to_11_digits(raw):
    assert normalize_phone(raw) == "13800138000"


@pytest.mark.parametrize("second_digit", "3456789")
def test_phone_accepts_every_second_digit_from_3_to_9(second_digit):
    number = f"1{second_digit}012345678"

    assert normalize_phone(number) == number


@pytest.mark.parametrize(
    "raw",
    [
        "138001380001",  # 12 digits
        "1380013800",  # 10 digits
        "23800138000",  # leading 2
        "03800138000",  # leading 0
        "10012345678",  # second digit 0
        "11012345678",  # second digit 1
        "12012345678",  # second digit 2
        "1380013800A",  # a letter
        "138OO138000",  # letters O for zeros
        "abcdefghijk",
        "",
        "   ",
        "+86",
        "+86 1380013800",  # 10 digits after the country code
        "+86 138001380001",  # 12 digits after the country code
        "+86 23800138000",
        "8613800138000",  # country code without + or 00
        "+85261234567",  # Hong Kong
        "+1 4155550123",
        "+86+8613800138000",
    ],
)
def test_phone_that_is_not_a_mainland_mobile_number_is_refused(raw):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_phone(raw)

    assert caught.value.code == "phone_invalid"


def test_mask_phone_hides_the_middle_four_digits():
    assert mask_phone("13800138000") == "138****8000"


def test_mask_phone_of_a_normalised_full_width_number():
    assert mask_phone(normalize_phone("１３８ ００１３ ８０００")) == "138****8000"


@pytest.mark.parametrize("phone", ["", "1380013800", "138001380001"])
def test_mask_phone_hides_everything_when_not_11_characters(phone):
    assert mask_phone(phone) == "***"


# --- Vehicle plates ------------------------------------------------------------------------------

VALID_PLATES = [
    # Ordinary (blue/yellow): a letter and 5 characters with at most 2 letters.
    ("京A12345", PlateKind.ORDINARY),
    ("津B00001", PlateKind.ORDINARY),
    ("沪A9999Z", PlateKind.ORDINARY),
    ("渝A1B2C3", PlateKind.ORDINARY),
    ("冀J12345", PlateKind.ORDINARY),
    ("豫AAB123", PlateKind.ORDINARY),
    ("云A12Z34", PlateKind.ORDINARY),
    ("辽B5678K", PlateKind.ORDINARY),
    ("黑A88888", PlateKind.ORDINARY),
    ("湘AH2R31", PlateKind.ORDINARY),
    ("皖AZ0001", PlateKind.ORDINARY),
    ("鲁R12345", PlateKind.ORDINARY),
    ("新A1234X", PlateKind.ORDINARY),
    ("苏E12345", PlateKind.ORDINARY),
    ("浙A12345", PlateKind.ORDINARY),
    ("赣AQ2345", PlateKind.ORDINARY),
    ("鄂A12345", PlateKind.ORDINARY),
    ("琼A12345", PlateKind.ORDINARY),
    ("冀JD1234", PlateKind.ORDINARY),  # 7 characters: a D in the serial is not new-energy
    ("冀J1234D", PlateKind.ORDINARY),  # 7 characters: a trailing D is not new-energy
    # Small new-energy (green, cars): D/F, a letter or digit, 4 digits.
    ("冀JD12345", PlateKind.NEW_ENERGY_SMALL),
    ("京AD12345", PlateKind.NEW_ENERGY_SMALL),
    ("沪AF12345", PlateKind.NEW_ENERGY_SMALL),
    ("粤BD12345", PlateKind.NEW_ENERGY_SMALL),
    ("浙ADA1234", PlateKind.NEW_ENERGY_SMALL),
    ("苏EF00001", PlateKind.NEW_ENERGY_SMALL),
    ("川AD88888", PlateKind.NEW_ENERGY_SMALL),
    ("闽DDF1234", PlateKind.NEW_ENERGY_SMALL),
    ("宁AF91234", PlateKind.NEW_ENERGY_SMALL),
    ("琼AFZ0001", PlateKind.NEW_ENERGY_SMALL),
    # Large new-energy (yellow-green, trucks and buses): 5 digits, then D/F.
    ("冀J12345D", PlateKind.NEW_ENERGY_LARGE),
    ("冀J12345F", PlateKind.NEW_ENERGY_LARGE),
    ("京A00001D", PlateKind.NEW_ENERGY_LARGE),
    ("津C54321F", PlateKind.NEW_ENERGY_LARGE),
    ("晋H20001D", PlateKind.NEW_ENERGY_LARGE),
    ("蒙A12345D", PlateKind.NEW_ENERGY_LARGE),
    ("陕A12345F", PlateKind.NEW_ENERGY_LARGE),
    ("吉A12345D", PlateKind.NEW_ENERGY_LARGE),
    ("贵A12345D", PlateKind.NEW_ENERGY_LARGE),
    ("青A12345F", PlateKind.NEW_ENERGY_LARGE),
    ("藏A12345D", PlateKind.NEW_ENERGY_LARGE),
    ("甘A12345D", PlateKind.NEW_ENERGY_LARGE),
    ("桂A12345F", PlateKind.NEW_ENERGY_LARGE),
    # Trailers: a letter, 4 characters, 挂.
    ("冀J1234挂", PlateKind.TRAILER),
    ("冀JA234挂", PlateKind.TRAILER),
    ("鲁R5678挂", PlateKind.TRAILER),
    ("豫A0001挂", PlateKind.TRAILER),
    ("川AB123挂", PlateKind.TRAILER),
]

INVALID_PLATES = [
    # Not a mainland province.
    "港A12345",
    "澳A12345",
    "台A12345",
    "北A12345",
    "JA12345",
    "A12345",
    "12345D",
    # I and O are never used.
    "京I12345",
    "京O12345",
    "京AI1234",
    "京AO1234",
    "冀JDI1234",
    "冀JO234挂",
    "冀J1234I挂",
    # Wrong lengths.
    "",
    "京",
    "京A",
    "京A1234",
    "京A123456",
    "京A1234567",
    "冀JD1234567",
    "冀JD123456",
    "冀J123456D",
    "冀J123挂",
    "冀J12345挂",
    # Three letters in an ordinary serial.
    "京ABCD12",
    "京AA1B2C",
    "京A12XYZ",
    "京AABCDE",
    # The new-energy letter in the wrong place.
    "冀J1D2345",
    "冀J12D345",
    "冀J1234D5",
    "冀JD1234D",
    "冀JDAB123",
    "冀J1234F挂",
    "冀JD12345D",
    # Not a new-energy letter (default D/F), or no issuing-authority letter.
    "冀JA12345",
    "冀J12345A",
    "冀J12345E",
    "京112345",
    "京京12345",
    "冀J12345挂D",
]


def test_plate_corpus_is_large_and_covers_every_kind():
    assert len(VALID_PLATES) >= 40
    assert len(INVALID_PLATES) >= 30
    assert {kind for _, kind in VALID_PLATES} == set(PlateKind)
    assert len({plate for plate, _ in VALID_PLATES}) == len(VALID_PLATES)
    assert not {plate for plate, _ in VALID_PLATES} & set(INVALID_PLATES)


@pytest.mark.parametrize(("raw", "kind"), VALID_PLATES)
def test_valid_plate_is_accepted_with_its_kind(raw, kind):
    assert normalize_plate(raw) == Plate(raw, kind)


@pytest.mark.parametrize("raw", INVALID_PLATES)
def test_invalid_plate_is_refused(raw):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_plate(raw)

    assert caught.value.code == "plate_invalid"


def test_plate_corpus_is_classified_100_percent_correctly():
    expected = dict(VALID_PLATES) | dict.fromkeys(INVALID_PLATES)

    def classify(raw: str) -> PlateKind | None:
        try:
            return normalize_plate(raw).kind
        except InvalidIdentifier:
            return None

    assert {raw: classify(raw) for raw in expected} == expected


@pytest.mark.parametrize("province", PROVINCES)
def test_every_province_is_accepted(province):
    assert normalize_plate(f"{province}A12345D") == Plate(f"{province}A12345D", PlateKind.NEW_ENERGY_LARGE)


def test_there_are_31_provinces():
    assert len(set(PROVINCES)) == len(PROVINCES) == 31


@pytest.mark.parametrize(
    ("raw", "number", "kind"),
    [
        ("冀ｊ１２３４５ｄ", "冀J12345D", PlateKind.NEW_ENERGY_LARGE),
        ("冀j12345d", "冀J12345D", PlateKind.NEW_ENERGY_LARGE),
        ("冀J·12345D", "冀J12345D", PlateKind.NEW_ENERGY_LARGE),
        (" 冀 J 12345 D ", "冀J12345D", PlateKind.NEW_ENERGY_LARGE),
        ("冀J-12345D", "冀J12345D", PlateKind.NEW_ENERGY_LARGE),
        ("京ａｄ１２３４５", "京AD12345", PlateKind.NEW_ENERGY_SMALL),
        ("京ad12345", "京AD12345", PlateKind.NEW_ENERGY_SMALL),
        ("京a·12345", "京A12345", PlateKind.ORDINARY),
        ("冀ｊ１２３４挂", "冀J1234挂", PlateKind.TRAILER),
    ],
)
def test_plate_is_folded_before_matching(raw, number, kind):
    assert normalize_plate(raw) == Plate(number, kind)


def test_default_new_energy_letters_refuse_a_small_plate_with_a():
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_plate("冀JA12345")

    assert caught.value.code == "plate_invalid"


def test_wider_new_energy_letters_accept_a_small_plate_with_a():
    plate = normalize_plate("冀JA12345", new_energy_letters="DABCEFGHJK")

    assert plate == Plate("冀JA12345", PlateKind.NEW_ENERGY_SMALL)


def test_wider_new_energy_letters_accept_a_large_plate_ending_in_a():
    plate = normalize_plate("冀J12345A", new_energy_letters="DABCEFGHJK")

    assert plate == Plate("冀J12345A", PlateKind.NEW_ENERGY_LARGE)


def test_narrower_new_energy_letters_refuse_f():
    assert _code_of(normalize_plate, "冀J12345F", new_energy_letters="D") == "plate_invalid"
    assert normalize_plate("冀J12345D", new_energy_letters="D").kind == PlateKind.NEW_ENERGY_LARGE


def test_new_energy_letters_are_folded():
    assert normalize_plate("冀JD12345", new_energy_letters="ｄf").kind == PlateKind.NEW_ENERGY_SMALL
    assert normalize_plate("冀J12345F", new_energy_letters="ｄf").kind == PlateKind.NEW_ENERGY_LARGE


def test_new_energy_letters_separated_by_commas_mean_those_letters():
    assert normalize_plate("冀JD12345", new_energy_letters="D,F").kind == PlateKind.NEW_ENERGY_SMALL
    assert normalize_plate("冀J12345F", new_energy_letters="D, F").kind == PlateKind.NEW_ENERGY_LARGE


def test_a_separator_in_new_energy_letters_is_not_accepted_in_a_plate():
    assert _code_of(normalize_plate, "冀J,12345", new_energy_letters="D,F") == "plate_invalid"
    assert _code_of(normalize_plate, "冀J12345,", new_energy_letters="D,F") == "plate_invalid"


@pytest.mark.parametrize("raw", ["冀JI12345", "冀JO12345", "冀J12345I", "冀J12345O"])
def test_i_and_o_in_new_energy_letters_are_still_never_accepted(raw):
    assert _code_of(normalize_plate, raw, new_energy_letters="DFIO") == "plate_invalid"


@pytest.mark.parametrize("letters", ["", " ", ",", "IO"])
def test_no_new_energy_letters_refuse_new_energy_plates_without_crashing(letters):
    assert _code_of(normalize_plate, "冀JD12345", new_energy_letters=letters) == "plate_invalid"
    assert _code_of(normalize_plate, "冀J12345D", new_energy_letters=letters) == "plate_invalid"
    assert normalize_plate("冀J12345", new_energy_letters=letters).kind == PlateKind.ORDINARY


@pytest.mark.parametrize(
    ("kind", "is_new_energy"),
    [
        (PlateKind.ORDINARY, False),
        (PlateKind.NEW_ENERGY_SMALL, True),
        (PlateKind.NEW_ENERGY_LARGE, True),
        (PlateKind.TRAILER, False),
    ],
)
def test_plate_is_new_energy_for_the_two_new_energy_kinds(kind, is_new_energy):
    assert Plate("冀J12345D", kind).is_new_energy is is_new_energy


def test_plate_kind_values_are_stable():
    assert [kind.value for kind in PlateKind] == ["ordinary", "new_energy_small", "new_energy_large", "trailer"]


# --- VIN ---------------------------------------------------------------------------------------

VIN_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O or Q
# ISO 3779 transliteration and weights, written out independently of the module.
VIN_VALUE = {
    **{digit: int(digit) for digit in "0123456789"},
    **dict(zip("ABCDEFGH", [1, 2, 3, 4, 5, 6, 7, 8], strict=True)),
    **dict(zip("JKLMNPR", [1, 2, 3, 4, 5, 7, 9], strict=True)),
    **dict(zip("STUVWXYZ", [2, 3, 4, 5, 6, 7, 8, 9], strict=True)),
}
VIN_WEIGHT = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
VALID_VINS = ["1M8GDM9AXKP042788", "11111111111111111"]
CHECK_POSITION = 8  # the 9th character


def _reference_check_digit(vin: str) -> str:
    remainder = sum(VIN_VALUE[char] * weight for char, weight in zip(vin, VIN_WEIGHT, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def _with_check_digit(body: str) -> str:
    return body[:CHECK_POSITION] + vin_check_digit(body) + body[CHECK_POSITION + 1 :]


@pytest.mark.parametrize(("vin", "check"), [("1M8GDM9AXKP042788", "X"), ("11111111111111111", "1")])
def test_vin_check_digit_of_known_vins(vin, check):
    assert vin_check_digit(vin) == check


@pytest.mark.parametrize("vin", VALID_VINS)
def test_known_valid_vin_is_accepted(vin):
    assert normalize_vin(vin) == vin


@pytest.mark.parametrize(
    ("char", "value"),
    sorted(
        {
            **dict(zip("ABCDEFGH", "12345678", strict=True)),
            **dict(zip("JKLMNPR", "1234579", strict=True)),
            **dict(zip("STUVWXYZ", "23456789", strict=True)),
        }.items()
    ),
)
def test_vin_letter_counts_as_its_transliterated_digit(char, value):
    # At position 1 (weight 8) a letter weighs exactly what its digit does.
    body = "0" * 17
    assert vin_check_digit(char + body[1:]) == vin_check_digit(value + body[1:])


@pytest.mark.parametrize(("position", "weight"), list(enumerate(VIN_WEIGHT)))
def test_vin_position_has_its_iso_3779_weight(position, weight):
    vin = "0" * position + "1" + "0" * (16 - position)
    remainder = weight % 11

    assert vin_check_digit(vin) == ("X" if remainder == 10 else str(remainder))


def test_vin_remainder_10_is_written_x():
    # 1 at position 8 (weight 10): the sum is 10.
    assert vin_check_digit("00000001000000000") == "X"


@pytest.mark.parametrize(
    "raw",
    [
        "1m8gdm9axkp042788",
        "１Ｍ８ＧＤＭ９ＡＸＫＰ０４２７８８",
        "1M8 GDM9AX KP042788",
        "1M8-GDM9AX-KP042788",
        " 1m8gdm9axkp042788\n",
    ],
)
def test_vin_is_folded_before_checking(raw):
    assert normalize_vin(raw) == "1M8GDM9AXKP042788"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1M8GDM9AXKP04278",  # 16
        "1M8GDM9AXKP0427888",  # 18
        "1M8GDM9AXKP042788 1",  # 18 after folding
        "IM8GDM9AXKP042788",  # I
        "1M8GDM9AXKP04278O",  # O
        "1M8GDM9AXKP04278Q",  # Q
        "1M8GDM9A_KP042788",
        "1M8GDM9A*KP042788",
        "冀M8GDM9AXKP042788",
    ],
)
def test_vin_with_wrong_length_or_characters_is_refused(raw):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_vin(raw)

    assert caught.value.code == "vin_invalid"


@pytest.mark.parametrize("check", [c for c in VIN_ALPHABET if c != "X"])
def test_vin_with_any_other_check_character_is_refused(check):
    vin = "1M8GDM9A" + check + "KP042788"

    with pytest.raises(InvalidIdentifier) as caught:
        normalize_vin(vin)

    assert caught.value.code == "vin_check_digit"


@pytest.mark.parametrize("vin", VALID_VINS)
@pytest.mark.parametrize("position", [p for p in range(17) if p != CHECK_POSITION])
def test_vin_substitution_that_changes_the_check_sum_is_refused(vin, position):
    substitutes = [c for c in VIN_ALPHABET if VIN_VALUE[c] != VIN_VALUE[vin[position]]]
    codes = {c: _code_of(normalize_vin, vin[:position] + c + vin[position + 1 :]) for c in substitutes}

    assert len(substitutes) >= 29
    assert codes == dict.fromkeys(substitutes, "vin_check_digit")


@pytest.mark.parametrize(
    ("vin", "position"),
    [
        (vin, p)
        for vin in VALID_VINS
        for p in range(17)
        if p != CHECK_POSITION and vin[p] != "0"  # no letter transliterates to 0
    ],
)
def test_vin_substitution_with_the_same_value_keeps_the_check_sum(vin, position):
    # A known limit of ISO 3779: A, J and 1 (and so on) weigh the same, so swapping them passes.
    twins = [c for c in VIN_ALPHABET if c != vin[position] and VIN_VALUE[c] == VIN_VALUE[vin[position]]]
    swapped = [vin[:position] + c + vin[position + 1 :] for c in twins]

    assert len(twins) >= 2
    assert [normalize_vin(other) for other in swapped] == swapped


VIN_BODIES = st.text(alphabet=VIN_ALPHABET, min_size=17, max_size=17)


@hypothesis_settings(max_examples=300, database=None, deadline=None)
@given(body=VIN_BODIES)
def test_vin_check_digit_matches_the_iso_3779_reference(body):
    assert vin_check_digit(body) == _reference_check_digit(body)


@hypothesis_settings(max_examples=300, database=None, deadline=None)
@given(body=VIN_BODIES)
def test_vin_with_its_computed_check_digit_is_accepted(body):
    vin = _with_check_digit(body)

    assert normalize_vin(vin) == vin
    assert normalize_vin(vin.lower()) == vin


@hypothesis_settings(max_examples=300, database=None, deadline=None)
@given(body=VIN_BODIES)
def test_vin_with_any_other_check_digit_is_refused(body):
    vin = _with_check_digit(body)
    others = [c for c in "0123456789X" if c != vin[CHECK_POSITION]]
    codes = {c: _code_of(normalize_vin, vin[:CHECK_POSITION] + c + vin[CHECK_POSITION + 1 :]) for c in others}

    assert codes == dict.fromkeys(others, "vin_check_digit")


# --- Traction-battery codes (GB/T 34014-2017) -------------------------------------------------------

BATTERY = "CATPB28HBJ0001PA10000001"  # CAT, pack, LFP, spec 28, trace HBJ0001, year P, month A, day 1, serial 0000001


def _battery_with(position: int, char: str, code: str = BATTERY) -> str:
    return code[:position] + char + code[position + 1 :]


@pytest.mark.parametrize("code", ["X12MCPM27KLPCLX2M2382320", "CATPB28HBJ0001PA10000001"])
def test_known_battery_code_is_accepted(code):
    assert normalize_battery_code(code) == BatteryCode(code)


@pytest.mark.parametrize(
    ("code", "manufacturer", "product_type", "chemistry", "serial"),
    [
        ("X12MCPM27KLPCLX2M2382320", "X12", "M", "LMO", "2382320"),
        ("CATPB28HBJ0001PA10000001", "CAT", "P", "LFP", "0000001"),
    ],
)
def test_battery_code_properties(code, manufacturer, product_type, chemistry, serial):
    battery = normalize_battery_code(code)

    assert battery.manufacturer == manufacturer
    assert battery.product_type == product_type
    assert battery.chemistry == chemistry
    assert battery.serial == serial


@pytest.mark.parametrize(
    "raw",
    [
        "catpb28hbj0001pa10000001",
        "ＣＡＴＰＢ２８ＨＢＪ０００１ＰＡ１００００００１",
        "CATPB28HBJ0001PA1００００００１",
        "CAT-PB-28-HBJ0001-PA1-0000001",
        " CAT PB 28 HBJ0001 PA1 0000001 ",
        "cat.pb28.hbj0001.pa1.0000001",
    ],
)
def test_battery_code_is_folded_before_checking(raw):
    assert normalize_battery_code(raw) == BatteryCode(BATTERY)


@pytest.mark.parametrize("raw", ["", BATTERY[:23], BATTERY + "1", BATTERY[:-1] + "12", BATTERY * 2])
def test_battery_code_of_the_wrong_length_is_refused(raw):
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_battery_code(raw)

    assert caught.value.code == "battery_code_invalid"


@pytest.mark.parametrize("product_type", "PMC")
def test_battery_code_accepts_pack_module_and_cell(product_type):
    assert normalize_battery_code(_battery_with(3, product_type)).product_type == product_type


@pytest.mark.parametrize("product_type", "ABDSXZ0")
def test_battery_code_with_another_product_type_is_refused(product_type):
    assert _code_of(normalize_battery_code, _battery_with(3, product_type)) == "battery_code_invalid"


@pytest.mark.parametrize(
    ("letter", "chemistry"),
    [
        ("A", "NiMH"),
        ("B", "LFP"),
        ("C", "LMO"),
        ("D", "LCO"),
        ("E", "NCM"),
        ("F", "supercapacitor"),
        ("G", "LTO"),
        ("Z", "other"),
    ],
)
def test_battery_code_chemistry_letter_is_named(letter, chemistry):
    assert normalize_battery_code(_battery_with(4, letter)).chemistry == chemistry


def test_battery_chemistry_table_has_the_eight_gb_t_34014_letters():
    assert sorted(BATTERY_CHEMISTRY) == list("ABCDEFGZ")


@pytest.mark.parametrize("letter", "HIKXY01")
def test_battery_code_with_an_unknown_chemistry_is_refused(letter):
    assert _code_of(normalize_battery_code, _battery_with(4, letter)) == "battery_code_invalid"


@pytest.mark.parametrize("month", "123456789ABC")
def test_battery_code_accepts_months_1_to_9_and_a_to_c(month):
    assert normalize_battery_code(_battery_with(15, month)).code[15] == month


@pytest.mark.parametrize("month", "0DEZ")
def test_battery_code_with_an_impossible_month_is_refused(month):
    assert _code_of(normalize_battery_code, _battery_with(15, month)) == "battery_code_invalid"


@pytest.mark.parametrize("year", "19AHJNPRY")
def test_battery_code_accepts_year_characters(year):
    assert normalize_battery_code(_battery_with(14, year)).code[14] == year


@pytest.mark.parametrize("position", [14, 16])  # year, day
@pytest.mark.parametrize("char", "0IOQZ")
def test_battery_code_with_an_impossible_year_or_day_is_refused(position, char):
    assert _code_of(normalize_battery_code, _battery_with(position, char)) == "battery_code_invalid"


@pytest.mark.parametrize("position", range(17, 24))
def test_battery_code_with_a_letter_in_the_serial_is_refused(position):
    assert _code_of(normalize_battery_code, _battery_with(position, "A")) == "battery_code_invalid"


@pytest.mark.parametrize("position", [0, 1, 2, 5, 6, 7, 13])
def test_battery_code_with_punctuation_in_a_free_field_is_refused(position):
    assert _code_of(normalize_battery_code, _battery_with(position, "*")) == "battery_code_invalid"
