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
        " 强 提高 增加 涨了 多了 改善 好转 宽裕 富裕 方便 稳 顺利 正常领 按月 每月都 按期"
        " 不用担心 放心 满意 有收入 收入稳定 吃穿不愁 不漏 没漏 不渗 上了 上学 已经交 都交了"
        " ok √ ✔ ✓ 拿到 拿了 到了 到账 到卡 领着 在享 在领 领取 办下来 批下来 批了 入住 住进去"
        " 住着 暖和 好好的 卖出去 卖了 出栏 能挣 挣了 寄钱 长得 不断 结算 直接报 没发现问题"
        " 未发现问题 没发现 未发现 不成问题 有得吃 吃得饱 穿得暖 接进 接到 通到 在岗 上岗 有了"
        " 没有什么问题 没有啥问题 没有什么大问题 没有啥大问题 没什么事 没啥事 没事 没什么大问题 没啥大问题 没大问题 没多大问题 无大碍 没大碍 挺新 很新 新的 不是没交 不是没有 不是没 长得很好 养得好 改造的 改造过的 有保障的"
        " 有水 就有水 合格 a级 b级"
        " 不用愁 无忧 没有困难 无困难 正常领取 按时领 按月领 都领 都有 齐全 在用 能用 好用"
    ),
    # Verbs that say something only when negated (没发, 未纳入, 没有参加).
    "verb": _w(
        "发 参加 签 报 读 改造 修 办 领 还 通 保障 覆盖 解决 整改 到 去 管 给 享 用 落 搞"
        " 建 盖 做 弄 买 交上 缴上 上 发现 动工 开工 收成 批 安装 接 装 回 拿 赔 评 评上 纳"
    ),
    "resolve": _w(
        "已修好 都修好了 修好 修好了 已修 修了 已维修 维修了 维修好 修缮了 已修缮 翻修了 已翻修 翻新了 完成 已完成"
        " 完工 已完工 劝返 已劝返 劝回 返校 已返校 回学校 复学 已复学 改造过 改造好 改造完 已改造"
        " 改造了 改好了 已解决 解决了 已整改 整改了 整改完 好了 已搬 搬进 住进 搬迁了 已搬迁"
        " 还清 已还 还了 结清 已结清 换了 已换 补好 盖好 新建了 建好 盖了新房 住上新房 已通"
        " 危房改造过 危房改造了 危房改造好 危房改造完 危改过 危改了 危改完 处理了 已处理 还上"
        " 加固过 加固了 已加固 修过 翻新过 回来了 回去上学 又通了 恢复 已恢复 装了 换过"
    ),
    # Words that by themselves say the check is fine when nothing else is said (外出务工).
    "present": _w(
        "打工 务工 外出务工 上班 干活 公益岗 保洁员 护林员 收银员 做工 养猪 养牛 养羊 养鸡 养鸭"
        " 养蜂 养鱼 种植 种了 养了 种茶 分红 入股 入了股 有慢病卡 慢病卡 养殖 自来水 砖房 砖混"
        " 新房 新盖 新建 还款 还着 特困供养 五保供养 木工 年级 读书 念书 读初中 读小学 读高中"
        " 读大学 读初 读小 读高 读大 上初中 上小学 上高中 上大学 上幼儿园"
    ),
    "bad": _w(
        "漏 裂 裂缝 塌 垮 倒塌 危房 破 破旧 破损 损坏 坏 坏了 断 停 浑 浑浊 脏 黄水 辍学 失学"
        " 困难 欠 欠费 拖欠 逾期 缺 缺少 掉 脱落 倾斜 歪 霉 发霉 潮湿 渗水 有虫 差 不好"
        " 看不起 报不了 没钱 没人管 找不到 失业 亏 亏本 病死 滞销 卖不出去 问题 隐患 危险"
        " 需要维修 需要修 需要改造 需要加固 需要帮助 需要救助 急需 要修 待修 待整改 没法 不能用 吃不饱 穿不暖 不够 不足 没着落 用不上 喝不上"
        " 吃不上 住不了 不安全 停了 停水 断水 没水 漏雨 漏水 透风 开裂 变形 下沉 不稳 安全隐患"
        " 紧张 低了 少了 减少 下降 不多了 快干了 干了 鼓了 往外鼓 要鉴定 有股味 有味 异味 怪味"
        " 干不了 干不动 没活干 没活 闲着 闲在家 无业 待业 没找到活 找不到活 没工作 不去学校"
        " 不肯去 不读了 不想读 不上了 摔伤 没劳动力 没有劳动力 没带 垫了 自己垫 没报下来"
        " × ✗ ✘ 交不起 上不起 付不起 买不起 读不起 住不起 偏低 拿不到 领不到 倒闭 关门 垮了 松了 松动 要加固 得加固 需加固 需要加固 泡了 缝 黄的"
        " 不能喝 喝不了 不能吃 又不去了 又停了 又坏了 又漏了 过期 到期了 见底 取消 被取消 停发 清退 难 看病难 吃水难 上学难 c级 d级 报不下来 没下来 接济 死 死了 要翻修 要修缮 要维修 不去了 冻裂 冻坏 裂了 歪了 塌了 倒了 掉了 坏掉 没人 不管"
    ),
    "weak_ok": _w("有 齐 交着 在交 照常 交 缴 报销"),
    "weaker_ok": _w("在 能 会 行 全"),  # 在补办: not enough to record
    "weak_bad": _w("少 低 旧 老 紧 一般 不多 较差 需要"),
    "neg": _w(
        "不 没 没有 未 无 非 否 并未 尚未 还没 还没有 从没 从未 不是 没能 未能 暂未 暂无 还未"
        " 没看到 没看见 没发现 未发现 没见 没见到 不存在 没出现 未出现 杜绝"
    ),
    "hedge": _w(
        "好像 可能 似乎 据说 听说 应该 大概 估计 不清楚 不知道 不确定 没问 没看 没细看 待核实"
        " 待确认 再看看 要看 不太清楚 还好 凑合 勉强 问题不大 吗 吧 ？ ? 多少 怎么 什么"
        " 照顾 照看 陪护 年后 过完年 开春 开年 打算出去 准备出去 在办 还在办 办理中 申请中 在申请"
        " 审核中 等审批 等批 批没批 如何 看天 靠天 看着还可以 看着还行 看起来还行 看起来还可以 看情况 没定 还没定 未定 还没确定 说是要 说不准 不好说 难说 还不知道 能不能 不太确定 没仔细"
    ),
    # Words that would read as cues but are not (低了不少: 不少 is "a lot").
    "neutral": _w(
        "卖掉 扔掉 去掉 吃掉 停车 停下 难受 难过 有慢性病 有慢病 有高血压 有糖尿病 有病 有残疾 身体不好 幸亏 多亏 亏得 出差 差不多 差点 相差 判断 难得 难免 困难户 贫困户 主要 重要 需要的话 有一天没一天 安全鉴定 鉴定为 不少 不久 没多久 不到 不管 不用 不光 不仅 不但 多少钱 老人 老两口 老伴 老大 老二 老三"
        " 老公 老婆 老板 老师 老家 老太 老汉 老头 老奶奶 老爷子 老母亲 老父亲 老乡 一般户"
    ),
    "contrast": _w("但 但是 不过 就是 只是 可是 然而 却"),
    "past": _w("以前 原来 之前 去年 过去 曾经 原先 早先 上次 前年 本来"),
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
_PARTICLES = " 　了的啊呀呢吧嘛哦。，！!～~"
_REACH = 3  # ... and a bad word this far, past weak words between (不会有问题)
_GAP = 2  # a negator reaches the cue that starts at most this many characters after it
_NOT_YET = frozenset(_w("还没 还没有 尚未 暂未 还未 仍未 至今没"))  # pending: a problem
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
    absent: bool = False  # a negator with nothing after it (信贷：无, 医保没有)


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


_POLAR = frozenset(
    ("ok", "resolve", "bad", "weak_ok", "weaker_ok", "weak_bad", "name_ok", "verb", "present")
)
_BAD = frozenset(("bad", "weak_bad"))
_FLIP = {"ok": 0.95, "resolve": 0.95, "verb": 0.85, "name_ok": 0.9, "present": 0.9}
_FIRM_WEAK = frozenset(_w("交 缴 报销 交着 在交"))  # 没交 is as sure as 没交了


def _flipped(cue: Cue) -> Evidence:
    if cue.kind in _BAD:
        return Evidence(OK, 0.95 if cue.kind == "bad" else 0.75, resolves=True)
    strength = _FLIP.get(cue.kind, 0.9 if cue.word in _FIRM_WEAK else 0.7)
    return Evidence(PROBLEM, strength)


def _dangling(neg: Cue, after_bad: bool, at_end: bool) -> Evidence:
    """A negator with no cue after it: 辍学：无 is good, 医保没有 bad; before words we do not
    know (房子没文题) or 不 alone, it says little."""
    if after_bad:
        return Evidence(OK, 0.9)
    if neg.word in _NOT_YET or (neg.word in _STRONG_NEG and at_end):
        return Evidence(PROBLEM, 0.85, absent=True)
    return Evidence(PROBLEM, 0.6, absent=True)


_PLAIN: dict[str, tuple[str, float, bool]] = {  # kind -> status, strength, fallback
    "ok": (OK, 0.95, False),
    "resolve": (OK, 0.95, False),
    "bad": (PROBLEM, 0.95, False),
    "weak_bad": (PROBLEM, 0.7, False),
    "weak_ok": (OK, 0.85, True),
    "weaker_ok": (OK, 0.7, True),
    "name_ok": (OK, 0.9, True),
    "present": (OK, 0.85, True),
}


def _plain(cue: Cue, past: bool) -> Evidence | None:
    found = _PLAIN.get(cue.kind)
    if found is None:
        return None
    status, strength, fallback = found
    return Evidence(
        status,
        strength,
        resolves=cue.kind == "resolve",
        past=past and status == PROBLEM,
        fallback=fallback,
    )


def _inside(cue: Cue, spans: tuple[tuple[int, int], ...]) -> bool:
    return any(a <= cue.start and cue.end <= b for a, b in spans)


def _ends(clause: str, cue: Cue) -> bool:
    """Nothing but particles after ``cue`` (医保没有了): what it negates is the check itself."""
    return not clause[cue.end :].strip(_PARTICLES)


def _bad_within(cues: list[Cue], i: int) -> int | None:
    """The index of a plain bad word at most :data:`_REACH` characters after the negator at
    ``i``, with only weak words (有, 会) or none between them."""
    for k in range(i + 1, min(i + 4, len(cues))):
        if cues[k].start - cues[i].end > _REACH:
            return None
        if cues[k].kind == "bad":
            return k
        if cues[k].kind not in ("weak_ok", "weaker_ok", "verb"):
            return None
    return None


def _negated(clause: str, cues: list[Cue], i: int) -> tuple[list[Evidence], int]:
    """The negator at ``i`` and what it flips: the next cue, and a run of bad words after a
    flipped bad one (无失学辍学); or a dangling negator. Returns evidence and the next index."""
    neg, nxt = cues[i], cues[i + 1] if i + 1 < len(cues) else None
    k = _bad_within(cues, i)
    if k is not None:  # 不会有问题, 没出过问题: the negator reaches the bad word past weak ones
        nxt, i = cues[k], k - 1
    if nxt is not None and nxt.start - neg.end <= _GAP and nxt.kind in _POLAR:
        out, j = [_flipped(nxt)], i + 2
        while nxt.kind in _BAD and j < len(cues) and cues[j].kind in _BAD:
            if cues[j].start - cues[j - 1].end > 1:
                break
            out.append(_flipped(cues[j]))
            j += 1
        return out, j
    prev = cues[i - 1] if i else None
    after_bad = prev is not None and prev.kind in _BAD and neg.start - prev.end <= _GAP
    return [_dangling(neg, after_bad, _ends(clause, neg))], i + 1


def read_clause(clause: str, masked: tuple[tuple[int, int], ...] = ()) -> Said:
    """The evidence one clause gives (negators applied, the past marked, contrast cut).
    One-character cues inside ``masked`` spans (the check's own words: 低 of 低保, 老 of
    养老金) are not read."""
    cues = [c for c in scan(clause) if len(c.word) > 1 or not _inside(c, masked)]
    out: list[Evidence] = []
    hedged = past = False
    i = 0
    while i < len(cues):
        cue = cues[i]
        if cue.kind == "neg":
            found, i = _negated(clause, cues, i)
            if found[0].status == OK and not found[0].resolves and out:
                out.pop()  # 辍学：无 -- the bad word was only the question
            out.extend(found)
            continue
        if cue.kind == "hedge":
            hedged = True
        elif cue.kind == "past":
            past = True
        elif cue.kind == "contrast" and out and _later_says(cues[i + 1 :]):
            out = [e for e in out if e.fallback]
        else:
            plain = _plain(cue, past)
            if plain is not None:
                out.append(plain)
        i += 1
    return Said(tuple(out), hedged)


_NONE_IS_FINE = frozenset(("credit",))


def _later_says(cues: list[Cue]) -> bool:
    return any(c.kind in _POLAR or c.kind == "neg" for c in cues)


def judge(said: list[Said], key: str = "") -> tuple[str | None, float]:
    """(status, confidence) from the clauses of one check, in the order they were written.
    For credit, having none is fine (信贷：无, 没有贷款). Clauses that disagree: a clause that
    is surely a problem wins over another clause's good news (低保没有纳入，残疾证已办)
    unless a later one settles it (已修好)."""
    status, confidence = _together(said, key)
    if status is None or confidence >= CONFIDENT or any(s.hedged for s in said):
        return status, confidence
    for i, one in enumerate(said):
        alone = _together([one], key)
        settled = any(e.resolves for later in said[i + 1 :] for e in later.evidence)
        if alone[0] == PROBLEM and alone[1] >= CONFIDENT and not settled:
            return PROBLEM, 0.85
    return status, confidence


def _together(said: list[Said], key: str) -> tuple[str | None, float]:
    evidence = [e for s in said for e in s.evidence]
    if key in _NONE_IS_FINE:
        evidence = [Evidence(OK, 0.9) if e.absent else e for e in evidence]
    firm = [e for e in evidence if not e.fallback]
    if not firm or all(e.past and e.status == PROBLEM for e in firm):
        firm = evidence  # 之前没活干，现在上班了: the past gives way to what is said now
    if not firm:
        return None, 0.0
    status, confidence = _weigh(firm)
    if any(s.hedged for s in said):
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
    weak_bad = max(e.strength for e in bads) < CONFIDENT
    if weak_bad and evidence[-1].status == OK and max(e.strength for e in oks) >= 0.9:
        return OK, CONFIDENT  # 旧是旧了，但结实: a plain word of good news outweighs a weak one
    last = evidence[-1]
    after = evidence[max(i for i, e in enumerate(evidence) if e.status == PROBLEM) + 1 :]
    if last.status == OK and (any(e.resolves for e in after) or all(e.past for e in bads)):
        return OK, min(0.9, max(e.strength for e in after))
    if last.status == PROBLEM and not last.past:
        return PROBLEM, min(0.85, last.strength)
    return (last.status, 0.5)
