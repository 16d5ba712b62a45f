"""What a clause says of its check: ok, problem or nothing sure, with a confidence.

The clause (simplified, typos fixed) is scanned left to right for the longest cue at each
place. Cues are good news (正常, 交了, 能报销, 修好), bad news (漏雨, 辍学, 逾期), negators
(不, 没, 未, 无: they flip the cue right after them, so 不漏 is good and 没交 is bad, and a
negator with nothing after it is weak bad news: 医保没有), hedges (有点, 好像, 听说: nothing
hedged is sure), contrasts (但是: what follows decides), the past (以前漏雨) and resolutions
(已修好, 已劝返, 改造过: they settle an earlier problem). A check's name that carries a
verdict (住房安全, 饮水安全) counts only when nothing else is said.

:func:`judge` turns the evidence of one or more clauses of a check into (status, confidence);
below :data:`CONFIDENT` the reader asks instead of recording.
"""

from __future__ import annotations

from dataclasses import dataclass


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


CONFIDENT = 0.8
OK, PROBLEM = "ok", "problem"

# kind -> words. Strength of a plain cue is 0.95, of a weak one (WEAK_OK, WEAK_BAD) 0.75.
_KINDS: dict[str, tuple[str, ...]] = {
    "ok": _w(
        "正常 安全 没问题 无问题 没有问题 没啥问题 没什么问题 不存在问题 没毛病 达标 有保障"
        " 保障到位 已交 交了 交过 已缴 缴了 缴过 交清 缴清 都交 已参保 参保了 已参加 参加了"
        " 参保 参合 能报 可以报 报了 报过 已报 报销了 能报销 可以报销 都在上学 在上学 上学了"
        " 在读 在校 按时上学 正常上学 稳定 够吃 够用 够 足够 充足 不愁 不缺 不差 良好 好 挺好"
        " 很好 不错 可以 还行 还可以 有着落 落实 已落实 享受 已享受 在享受 领到 已领 领了 已发"
        " 发了 到位 按时 已签约 签约了 签了 签约 已办 办了 办好 通了 通水 有人管 没欠 不欠 没拖欠"
        " 结实 牢固 坚固 干净 清澈 纳入 已纳入 有活干 有工作 在务工 在打工 上班了 已安排 安排了"
        " 强 提高 增加 涨了 多了 改善 好转 宽裕 富裕 方便 稳 顺利 正常领 按月 每月都"
        " 不用担心 放心 满意 有收入 收入稳定 吃穿不愁 不漏 没漏 不渗 上了 上学 已经交 都交了"
    ),
    # Verbs that say something only when negated (没发, 未纳入, 没有参加).
    "verb": _w(
        "发 参加 签 报 读书 读 改造 修 办 领 还 通 保障 覆盖 解决 整改 到 去 管 给 享 用 落 搞"
        " 建 盖 做 弄 买 交上 缴上 上"
    ),
    "resolve": _w(
        "修好 修好了 已修 修了 已维修 维修了 维修好 修缮了 已修缮 翻修了 已翻修 翻新了 完成 已完成"
        " 完工 已完工 劝返 已劝返 劝回 返校 已返校 回学校 复学 已复学 改造过 改造好 改造完 已改造"
        " 改造了 改好了 已解决 解决了 已整改 整改了 整改完 好了 已搬 搬进 住进 搬迁了 已搬迁"
        " 还清 已还 还了 结清 已结清 换了 已换 补好 盖好 新建了 建好 盖了新房 住上新房 已通"
        " 危房改造过 危房改造了 危房改造好 危房改造完 危改过 危改了 危改完"
    ),
    "bad": _w(
        "漏 裂 裂缝 塌 垮 倒塌 危房 破 破旧 破损 损坏 坏 坏了 断 停 浑 浑浊 脏 黄水 辍学 失学"
        " 困难 欠 欠费 拖欠 逾期 缺 缺少 掉 脱落 倾斜 歪 霉 发霉 潮湿 渗水 有虫 差 不好"
        " 看不起 报不了 没钱 没人管 找不到 失业 亏 亏本 病死 滞销 卖不出去 问题 隐患 危险"
        " 需要 急需 要修 待修 待整改 没法 不能用 吃不饱 穿不暖 不够 不足 没着落 用不上 喝不上"
        " 吃不上 住不了 不安全 停了 停水 断水 没水 漏雨 漏水 透风 开裂 变形 下沉 不稳"
    ),
    "weak_ok": _w("有 在 能 会 行 齐 全 都有 交着 在交 照常 交 缴 报销"),
    "weak_bad": _w("少 低 旧 老 紧 紧张 一般 不多 较差 偏低"),
    "neg": _w(
        "不 没 没有 未 无 非 否 并未 尚未 还没 还没有 从没 从未 不是 没能 未能 暂未 暂无 还未"
    ),
    "hedge": _w(
        "有点 有些 一点 好像 可能 似乎 据说 听说 说是 应该 大概 估计 不清楚 不知道 不确定 没问"
        " 没看 没细看 待核实 待确认 再看看 要看 不太 还好 凑合 勉强 问题不大 不大 差不多 吗 ？ ?"
        " 多少 怎么 什么 如何 正在 在办 办理中 申请中 在申请 准备 打算 计划 等 说要 想 看情况 不一定 偶尔 有时"
    ),
    "contrast": _w("但 但是 不过 就是 只是 可是 然而 可 却"),
    "past": _w("以前 原来 之前 去年 过去 曾经 原先 早先 上次 前年"),
    # Check names that carry a verdict only when nothing else is said (住房安全).
    "name_ok": _w(
        "饮水安全 住房安全 安全饮水 两不愁 三保障 基本医疗 义务教育 医疗保障 住房保障 社会保障"
        " 收入吃穿 吃穿 有保障"
    ),
    # Program names that say nothing by themselves (危房改造 is a program, not a problem).
    "name": _w(
        "危房改造 危改 改造房 安置房 易地搬迁 低保户 特困户 五保户 脱贫户 监测户 边缘户 问题吗"
        " 没问题吗 医疗保险 养老保险 是否 有没有 问题:  问题："
    ),
}
_CUES: dict[str, str] = {}
for _kind, _words in _KINDS.items():
    for _word in _words:
        _CUES.setdefault(_word, _kind)
_MAX = max(len(w) for w in _CUES)
_GAP = 2  # a negator reaches the cue that starts at most this many characters after it
_STRONG_NEG = frozenset(_w("没 没有 未 尚未 还没 还没有 从没 从未 没能 未能 暂未 还未"))


def is_cue(word: str) -> bool:
    """Whether ``word`` (a check word) is itself a cue (停水, 辍学: bad news by themselves)."""
    return word in _CUES


@dataclass(frozen=True)
class Cue:
    kind: str
    word: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


@dataclass(frozen=True)
class Evidence:
    status: str  # ok | problem
    strength: float
    resolves: bool = False  # settles an earlier problem (已修好)
    past: bool = False  # a problem of the past (以前漏雨)
    fallback: bool = False  # counts only when nothing else is said (住房安全, 有)


@dataclass(frozen=True)
class Said:
    """What one clause says: its evidence in order, and whether it hedges."""

    evidence: tuple[Evidence, ...]
    hedged: bool


def scan(clause: str) -> list[Cue]:
    """The cues of ``clause``, longest first at each place, left to right."""
    cues: list[Cue] = []
    i = 0
    while i < len(clause):
        for n in range(min(_MAX, len(clause) - i), 0, -1):
            kind = _CUES.get(clause[i : i + n])
            if kind is not None:
                cues.append(Cue(kind, clause[i : i + n], i))
                i += n
                break
        else:
            i += 1
    return cues


def _flipped(cue: Cue) -> Evidence:
    if cue.kind in _BAD:
        return Evidence(OK, 0.95 if cue.kind == "bad" else 0.75, resolves=True)
    strength = {"ok": 0.95, "resolve": 0.95, "verb": 0.85, "name_ok": 0.9}.get(cue.kind, 0.7)
    return Evidence(PROBLEM, strength)


def _dangling(neg: Cue, after_bad: bool) -> Evidence:
    """A negator with no cue after it: 辍学：无 is good, 医保没有 bad, 不 alone says little."""
    if after_bad:
        return Evidence(OK, 0.9)
    if neg.word in _STRONG_NEG:
        return Evidence(PROBLEM, 0.85)
    return Evidence(PROBLEM, 0.6)


def _plain(cue: Cue, past: bool) -> Evidence | None:
    kind = cue.kind
    if kind == "ok":
        return Evidence(OK, 0.95)
    if kind == "resolve":
        return Evidence(OK, 0.95, resolves=True)
    if kind == "bad":
        return Evidence(PROBLEM, 0.95, past=past)
    if kind == "weak_bad":
        return Evidence(PROBLEM, 0.7, past=past)
    if kind == "weak_ok":
        return Evidence(OK, 0.85, fallback=True)
    if kind == "name_ok":
        return Evidence(OK, 0.9, fallback=True)
    return None


def read_clause(clause: str, masked: tuple[tuple[int, int], ...] = ()) -> Said:
    """The evidence one clause gives (negators applied, the past marked, contrast cut).
    ``masked`` spans (the check's own words, 低保, 养老金) are not read for cues."""
    for a, b in masked:
        clause = clause[:a] + "\u3000" * (b - a) + clause[b:]
    cues = scan(clause)
    out: list[Evidence] = []
    hedged = past = False
    i = 0
    while i < len(cues):
        cue = cues[i]
        nxt = cues[i + 1] if i + 1 < len(cues) else None
        if cue.kind == "hedge":
            hedged = True
        elif cue.kind == "past":
            past = True
        elif cue.kind == "contrast" and out:
            out = [e for e in out if e.fallback] if _later_says(cues[i + 1 :]) else out
        elif cue.kind == "neg":
            if nxt is not None and nxt.start - cue.end <= _GAP and nxt.kind in _POLAR:
                out.append(_flipped(nxt))
                i += 2
                continue
            prev = cues[i - 1] if i else None
            after_bad = prev is not None and prev.kind in _BAD and cue.start - prev.end <= _GAP
            if after_bad and out:
                out.pop()  # 辍学：无 -- the bad word was only the question
            out.append(_dangling(cue, after_bad))
        else:
            found = _plain(cue, past)
            if found is not None:
                out.append(found)
        i += 1
    return Said(tuple(out), hedged)


_POLAR = frozenset(("ok", "resolve", "bad", "weak_ok", "weak_bad", "name_ok", "verb"))
_BAD = frozenset(("bad", "weak_bad"))


def _later_says(cues: list[Cue]) -> bool:
    return any(c.kind in _POLAR or c.kind == "neg" for c in cues)


def judge(said: list[Said]) -> tuple[str | None, float]:
    """(status, confidence) from the clauses of one check, in the order they were written."""
    evidence = [e for s in said for e in s.evidence]
    hedged = any(s.hedged for s in said)
    firm = [e for e in evidence if not e.fallback] or evidence
    if not firm:
        return None, 0.0
    status, confidence = _weigh(firm)
    if hedged:
        confidence = min(confidence, 0.6)
    return status, confidence


def _weigh(evidence: list[Evidence]) -> tuple[str | None, float]:
    oks = [e for e in evidence if e.status == OK]
    bads = [e for e in evidence if e.status == PROBLEM]
    if not bads:
        return OK, max(e.strength for e in oks)
    if not oks:
        if all(e.past for e in bads):
            return PROBLEM, 0.5
        return PROBLEM, max(e.strength for e in bads)
    last = evidence[-1]
    if last.status == OK and (last.resolves or all(e.past for e in bads)):
        return OK, min(0.9, last.strength)
    if last.status == PROBLEM and not last.past:
        return PROBLEM, min(0.85, last.strength)
    return (last.status, 0.5)
