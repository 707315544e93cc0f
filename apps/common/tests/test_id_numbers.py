"""Resident ID numbers (GB 11643, ISO 7064 MOD 11-2) and unified social credit codes (GB 32100):
every single-character change of a valid number is refused (RELIABILITY.md test 22).

Pure functions: no database.
"""

from __future__ import annotations

from datetime import date

import pytest

from apps.common.identifiers import (
    InvalidIdentifier,
    id_check_character,
    mask_id_number,
    normalize_credit_code,
    normalize_id_number,
    uscc_check_character,
)

TODAY = date(2025, 6, 1)


def id_number(region: str = "110105", born: str = "19491231", sequence: str = "002") -> str:
    """A number whose check character is right, so any refusal is about the part under test."""
    first17 = f"{region}{born}{sequence}"
    return first17 + id_check_character(first17)


def refusal_code(raw: str) -> str | None:
    try:
        normalize_id_number(raw, today=TODAY)
    except InvalidIdentifier as error:
        return error.code
    return None


VALID_ID_NUMBERS = [
    "11010519491231002X",  # GB 11643's own example: S = 167, 167 mod 11 = 2 -> X
    id_number("130983", "19900307", "001"),
    id_number("440305", "19880101", "123"),
    id_number("650102", "20000229", "007"),  # a leap day
    id_number("820000", "19991220", "458"),  # Macao
    id_number("310115", "20250531", "990"),  # born yesterday
]


@pytest.mark.parametrize("number", VALID_ID_NUMBERS)
def test_valid_id_numbers_are_accepted(number: str) -> None:
    assert normalize_id_number(number, today=TODAY) == number


def test_the_standards_example_has_check_character_x() -> None:
    assert id_check_character("11010519491231002") == "X"
    # Worked by hand: S = 284, 284 mod 11 = 9 -> 3.
    assert id_number("130983", "19900307", "001") == "130983199003070013"


@pytest.mark.parametrize("number", VALID_ID_NUMBERS)
def test_every_single_character_change_of_a_valid_id_number_is_refused(number: str) -> None:
    changes = [
        number[:position] + replacement + number[position + 1 :]
        for position in range(18)
        for replacement in "0123456789X"
        if replacement != number[position]
    ]
    assert len(changes) == 18 * 10
    accepted = [change for change in changes if refusal_code(change) != "id_number_invalid"]
    assert accepted == []


@pytest.mark.parametrize("number", VALID_ID_NUMBERS)
def test_every_swap_of_two_adjacent_different_digits_is_refused(number: str) -> None:
    swaps = [
        number[:position] + number[position + 1] + number[position] + number[position + 2 :]
        for position in range(17)
        if number[position] != number[position + 1]
    ]
    assert swaps
    assert [swap for swap in swaps if refusal_code(swap) is None] == []


@pytest.mark.parametrize(
    ("born", "why"),
    [
        ("19900230", "30 February"),
        ("19990229", "29 February of a common year"),
        ("19001301", "month 13"),
        ("19900001", "month 0"),
        ("19900100", "day 0"),
        ("19900431", "31 April"),
        ("18991231", "before 1900"),
        ("20250602", "tomorrow"),
        ("20991231", "far in the future"),
    ],
)
def test_impossible_birth_dates_are_refused(born: str, why: str) -> None:
    assert refusal_code(id_number(born=born)) == "id_number_invalid", why


@pytest.mark.parametrize("region", ["990101", "000000", "101010", "720000", "910000"])
def test_unknown_province_codes_are_refused(region: str) -> None:
    assert refusal_code(id_number(region=region)) == "id_number_invalid"


@pytest.mark.parametrize("legacy", ["110105491231002", "130983900307001", "１１０１０５４９１２３１００２"])
def test_fifteen_digit_legacy_numbers_are_refused_with_their_own_code(legacy: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_id_number(legacy, today=TODAY)
    assert caught.value.code == "id_number_legacy"
    assert "18" in caught.value.message


@pytest.mark.parametrize(
    "raw",
    ["11010519491231002x", " 110105 19491231 002x ", "110105-19491231-002X", "１１０１０５１９４９１２３１００２ｘ"],
)
def test_lower_case_x_spaces_and_full_width_characters_are_folded(raw: str) -> None:
    assert normalize_id_number(raw, today=TODAY) == "11010519491231002X"


@pytest.mark.parametrize("raw", ["", "X", "1101051949123100", "1101051949123100212", "11010519491231002Y", "X1010519491231002X"])
def test_malformed_id_numbers_are_refused(raw: str) -> None:
    assert refusal_code(raw) == "id_number_invalid"


@pytest.mark.parametrize(
    "raw", ["11010519491231002Y", "11010519491231003X", "99010519491231002X", "11010519490231002X", "110105491231002"]
)
def test_refusal_messages_never_repeat_the_number(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_id_number(raw, today=TODAY)
    assert raw not in caught.value.message
    assert raw[:14] not in caught.value.message
    assert raw not in str(caught.value)


def test_masking_keeps_the_region_and_the_last_four() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"


# --- Unified social credit codes --------------------------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALID_CREDIT_CODES = [
    "91350100M000100Y43",
    "91110000" + "600037341" + uscc_check_character("91110000600037341"),
    "12100000" + "40000123X" + uscc_check_character("1210000040000123X"),
]


def credit_code_refusal(raw: str) -> str | None:
    try:
        normalize_credit_code(raw)
    except InvalidIdentifier as error:
        return error.code
    return None


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_valid_credit_codes_are_accepted(code: str) -> None:
    assert normalize_credit_code(code) == code
    assert normalize_credit_code(code.lower()) == code


def test_the_example_credit_codes_check_character() -> None:
    assert uscc_check_character("91350100M000100Y4") == "3"


@pytest.mark.parametrize("code", VALID_CREDIT_CODES)
def test_every_single_character_change_of_a_credit_code_is_refused(code: str) -> None:
    # Letters outside the code's alphabet (I, O, S, V, Z) are among the replacements on purpose.
    replacements = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    changes = [
        code[:position] + replacement + code[position + 1 :]
        for position in range(18)
        for replacement in replacements
        if replacement != code[position]
    ]
    assert len(changes) == 18 * 35
    assert {change: credit_code_refusal(change) for change in changes} == dict.fromkeys(changes, "credit_code_invalid")


def test_credit_code_alphabet_matches_the_standard() -> None:
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)
