"""Chinese deadline phrases -> an aware UTC datetime.

Understood: ``12月5日前``, ``2026年12月5日``, ``十二月五号``, ``本周五``, ``下周一``, ``周五``,
``3天内``, ``两周内``, ``今天``/``明天``/``后天``, ``月底``, ``明天下午5点``, ``12月5日 17:30``,
ISO ``2026-12-05`` / ``2026/12/5 17:00``. A date without a time means the end of that working
day (:data:`END_OF_DAY`), which is when "12月5日前" is usually checked.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

END_OF_DAY = time(18, 0)
MAX_AHEAD = timedelta(days=366)
MAX_LEN = 40

HOW_TO = "截止时间可以这样写：12月5日前、本周五、3天内、明天下午5点、2026-12-05。"
TOO_FAR = f"截止时间太远了（最多一年以内）。{HOW_TO}"
# The largest count any unit may carry (366 days); a bigger one is beyond MAX_AHEAD anyway,
# and bounding it keeps every phrase to a few microseconds (no loop over a huge count).
_MAX_COUNT = MAX_AHEAD.days


class DeadlineError(ValueError):
    """Unparseable or past; ``message`` is a Chinese sentence that says how to write it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
           "八": 8, "九": 9}  # fmt: skip
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_NUM = r"[0-9零〇一二两三四五六七八九十]+"


def cn_number(text: str) -> int:
    """``12``, ``十二``, ``二十五``, ``三`` -> int (up to 99, enough for dates and times)."""
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)
    value = 0
    for ch in text:
        value = value * 10 + _DIGITS[ch]
    return value


def _normalize(text: str) -> str:
    text = text.strip().translate(str.maketrans("０１２３４５６７８９：／－", "0123456789:/-"))
    text = re.sub(r"\s+", " ", text)
    for word in ("截止到", "截止", "截至", "之前", "以前", "前", "内完成", "完成", "为止", "止"):
        text = text.replace(word, "")
    text = text.replace("星期", "周").replace("礼拜", "周").replace("号", "日").strip()
    return text[:-1] if text.endswith("内") else text


def _time_of_day(text: str) -> tuple[time | None, str]:
    """Find a clock time in the text; return it and the text without it."""
    m = re.search(r"(\d{1,2}):(\d{2})", text)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
        if hour > 23 or minute > 59:
            raise DeadlineError(f"时间「{m.group(0)}」不对。{HOW_TO}")
        return time(hour, minute), (text[: m.start()] + text[m.end() :]).strip()
    m = re.search(rf"(早上|上午|中午|下午|傍晚|晚上|夜里)?({_NUM})[点时](半|({_NUM})分?)?", text)
    if not m:
        for word, default in (("上午", time(12, 0)), ("中午", time(12, 0)), ("下班", END_OF_DAY)):
            if word in text:
                return default, text.replace(word, "").strip()
        return None, text
    hour = cn_number(m.group(2))
    minute = 30 if m.group(3) == "半" else (cn_number(m.group(4)) if m.group(4) else 0)
    period = m.group(1) or ""
    if period in ("下午", "傍晚", "晚上", "夜里") and hour < 12:
        hour += 12
    if period == "中午" and hour < 5:
        hour += 12
    if hour > 23 or minute > 59:
        raise DeadlineError(f"时间「{m.group(0)}」不对。{HOW_TO}")
    return time(hour, minute), (text[: m.start()] + text[m.end() :]).strip()


def _date_part(text: str, today: date) -> date | None:
    """The date ``text`` names, trying each form in turn (the first that matches wins)."""
    for form in (_calendar_date, _day_of_month, _named_day, _counted, _weekday, _period_end):
        found = form(text, today)
        if found is not None:
            return found
    return None


def _calendar_date(text: str, today: date) -> date | None:
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.fullmatch(rf"(?:(\d{{4}})年)?({_NUM})月({_NUM})日?", text) or re.fullmatch(
        r"()(\d{1,2})[-/](\d{1,2})", text
    )
    if not m:
        return None
    month, day = cn_number(m.group(2)), cn_number(m.group(3))
    if m.group(1):
        return date(int(m.group(1)), month, day)
    found = date(today.year, month, day)
    # "1月5日" written in December means next January; a date a little in the past
    # is a mistake we report rather than silently moving it a year on.
    if found < today - timedelta(days=60):
        found = date(today.year + 1, month, day)
    return found


def _day_of_month(text: str, today: date) -> date | None:
    m = re.fullmatch(rf"({_NUM})日", text)
    if not m:
        return None
    day = cn_number(m.group(1))
    found = date(today.year, today.month, day)
    if found < today:
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        found = date(year, month, day)
    return found


_RELATIVE = {"今天": 0, "今日": 0, "今晚": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}


def _named_day(text: str, today: date) -> date | None:
    if text in _RELATIVE:
        return today + timedelta(days=_RELATIVE[text])
    return None


def _counted(text: str, today: date) -> date | None:
    m = re.fullmatch(rf"({_NUM})(天|日|个?工作日|周|个?星期|个?月)", text)
    if not m:
        return None
    n = cn_number(m.group(1))
    unit = m.group(2)
    if n > _MAX_COUNT:  # beyond a year in any unit: refused before any date arithmetic
        raise DeadlineError(TOO_FAR)
    if unit in ("天", "日"):
        return today + timedelta(days=n)
    if "工作日" in unit:
        return _working_days(today, n)
    if unit in ("周", "星期", "个星期"):
        return today + timedelta(weeks=n)
    month_index = today.month - 1 + n
    year, month = today.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def _working_days(today: date, n: int) -> date:
    """``n`` working days (Monday to Friday) after ``today``: whole weeks at once, then at
    most four single days."""
    if n <= 0:
        return today
    weeks, rest = divmod(n - 1, 5)  # the last step is a single day, so it ends on a weekday
    due = today + timedelta(weeks=weeks)
    rest += 1
    while rest > 0:
        due += timedelta(days=1)
        if due.weekday() < 5:
            rest -= 1
    return due


def _weekday(text: str, today: date) -> date | None:
    m = re.fullmatch(r"(本|这|下|下个)?周([一二三四五六日天末])", text)
    if not m:
        return None
    target = _WEEKDAYS[m.group(2)]
    monday = today - timedelta(days=today.weekday())
    if m.group(1) in ("下", "下个"):
        return monday + timedelta(weeks=1, days=target)
    found = monday + timedelta(days=target)
    if m.group(1) is None and found < today:  # bare "周五" means the coming Friday
        found += timedelta(weeks=1)
    return found


def _period_end(text: str, today: date) -> date | None:
    if text in ("月底", "本月底", "这个月底", "月末", "本月末"):
        return date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    if text in ("下月底", "下个月底", "下月末"):
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        return date(year, month, calendar.monthrange(year, month)[1])
    if text in ("周底", "本周", "这周", "本周内"):
        return today + timedelta(days=6 - today.weekday())
    return None


def parse_deadline(text: str, now: datetime, zone: ZoneInfo) -> datetime:
    """Parse ``text`` relative to ``now``; raise :class:`DeadlineError` if unclear or past."""
    raw = (text or "").strip()
    if not raw:
        raise DeadlineError(f"请写上截止时间。{HOW_TO}")
    if len(raw) > MAX_LEN:
        raise DeadlineError(f"截止时间写得太长了。{HOW_TO}")
    local_now = now.astimezone(zone)
    today = local_now.date()
    iso = _iso(raw, zone)
    if iso is not None:
        at = iso
    else:
        body = _normalize(raw)
        clock, rest = _time_of_day(body)
        rest = rest.replace(" ", "")
        try:
            day = _date_part(rest, today) if rest else today
        except DeadlineError:
            raise
        except (ValueError, KeyError, OverflowError):
            raise DeadlineError(f"没有这一天：「{raw}」。{HOW_TO}") from None
        if day is None:
            raise DeadlineError(f"没看懂截止时间「{raw}」。{HOW_TO}")
        at = datetime.combine(day, clock or END_OF_DAY, tzinfo=zone)
    if at <= now:
        shown = at.astimezone(zone).strftime("%m月%d日 %H:%M")
        raise DeadlineError(f"截止时间 {shown} 已经过了，请写一个以后的时间。{HOW_TO}")
    if at - now > MAX_AHEAD:
        raise DeadlineError(TOO_FAR)
    return at.astimezone(UTC)


def _iso(text: str, zone: ZoneInfo) -> datetime | None:
    candidate = text.strip().replace("/", "-")
    if not re.fullmatch(
        r"\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?([+-]\d{2}:?\d{2}|Z)?", candidate
    ):
        return None
    parts = candidate.replace("T", " ").split(" ", 1)
    y, mo, d = (int(p) for p in parts[0].split("-"))
    try:
        if len(parts) == 1:
            return datetime.combine(date(y, mo, d), END_OF_DAY, tzinfo=zone)
        parsed = datetime.fromisoformat(f"{y:04d}-{mo:02d}-{d:02d} {parts[1]}")
    except ValueError:
        raise DeadlineError(f"没有这一天：「{text}」。{HOW_TO}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def show(at: datetime | None, zone: ZoneInfo) -> str:
    """``12月05日 18:00`` (or ``无截止`` for notices)."""
    if at is None:
        return "无截止"
    return at.astimezone(zone).strftime("%m月%d日 %H:%M")
