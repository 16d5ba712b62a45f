"""core.privacy.mask_pii: phone and ID numbers masked, other numbers kept."""

from __future__ import annotations

import pytest

from core.messages import Reply
from core.privacy import mask_phone, mask_pii


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("户主电话13812345678，已核实", "户主电话138****5678，已核实"),
        ("手机 138-1234-5678 或 +86 139 8765 4321", "手机 138****5678 或 139****4321"),
        ("身份证110101199003071234", "身份证1101**********1234"),
        ("身份证号 11010119900307123X 已登记", "身份证号 1101**********123X 已登记"),
        ("村委会 0571-88881234", "村委会 0571-****1234"),
    ],
)
def test_phone_and_id_numbers_are_masked(text, masked):
    assert mask_pii(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "补助 12000 元，2026-11-10 发放",
        "户编号 HH0001，任务 17，编号 3301020001",
        "20261110 走访 3 户，12345678901234 是十四位",
        "02345678901",  # 11 digits, not a mobile prefix
        "",
    ],
)
def test_other_numbers_are_kept(text):
    assert mask_pii(text) == text


def test_every_reply_is_masked_where_it_is_built():
    assert Reply("已记下：联系人 13812345678").text == "已记下：联系人 138****5678"
    assert Reply.from_dict({"text": "13812345678"}).text == "138****5678"


def test_a_phone_column_is_masked_the_same_way():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "*****" and mask_phone(None) == ""
