import pytest

from chudong.kit.phones import InvalidPhone, is_mobile, last_digits, normalise_phone


@pytest.mark.parametrize(("raw", "e164"), [
    ("0905 123 456", "+84905123456"), ("+84.905.123.456", "+84905123456"), ("84905123456", "+84905123456"),
    ("(090) 512-3456", "+84905123456"), ("01688123456", "+84388123456"), ("0236 3822 123", "+842363822123"),
    # pre-2018 11-digit numbers in every form, and zeros an Excel export dropped
    ("+84 168 8123 456", "+84388123456"), ("841688123456", "+84388123456"), ("0120.812.3456", "+84708123456"),
    ("905123456", "+84905123456"), ("1688123456", "+84388123456"), ("0199 812 3456", "+84598123456"),
])
def test_accepted_forms(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "abc", "105123456", "0105123456", "1988123456", "+1 202 555 0100", "09051234567"])
def test_rejected_with_reason(raw):
    with pytest.raises(InvalidPhone):
        normalise_phone(raw)


def test_mobile_and_landline():
    assert is_mobile("+84905123456") and is_mobile("+84388123456")
    assert not is_mobile("+842363822123")
    assert last_digits("+84905123456") == "3456"
