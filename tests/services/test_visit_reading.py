"""The visit-report reader on examples written for these tests (not from data/eval)."""

from __future__ import annotations

import pytest

from services.visit_reading import CONFIDENT, read_report

OK, BAD, ASK = "ok", "problem", "ask"

# (text after 走访, {check: ok | problem | ask}); checks not listed must not be read at all.
CASES = [
    ("王大山 住房是危房改造过的", {"housing": OK}),
    ("王大山 医保交了 新农合交了", {"medical": OK}),
    ("王大山 住房：安全", {"housing": OK}),
    ("王大山 看病能报销", {"medical": OK}),
    ("王大山 住院费用报销了百分之九十", {"medical": OK}),
    ("王大山 屋顶瓦片掉了几块", {"housing": BAD}),
    ("王大山 房子不漏了", {"housing": OK}),
    ("王大山 危房改造已完成", {"housing": OK}),
    ("王大山 辍学已劝返", {"education": OK}),
    ("王大山 孩子辍学还没劝返", {"education": BAD}),
    ("王大山 危房改造还没动工", {"housing": BAD}),
    ("王大山 吃水困难 要走两里路挑水", {"water": BAD}),
    ("王大山 水龙头一开就有水", {"water": OK}),
    ("王大山 自来水冬天冻住了 没水吃", {"water": BAD}),
    ("王大山 孙女在县城读高一", {"education": OK}),
    ("王大山 老伴住院花了两万 报了一万五", {"medical": OK}),
    ("王大山 没签家庭医生", {"medical": BAD}),
    ("王大山 墙上有条大裂缝", {"housing": BAD}),
    ("王大山 房子漏雨，上个月已修好", {"housing": OK}),
    ("王大山 粮食够吃 衣服够穿", {"income": OK}),
    ("王大山 公益岗护林员每月800元", {"employment": OK}),
    ("王大山 两个劳动力都没出去务工", {"employment": BAD}),
    ("王大山 养了三头牛 长势好", {"industry": OK}),
    ("王大山 种的核桃今年没收成", {"industry": BAD}),
    ("王大山 扶贫贷款已逾期三个月", {"credit": BAD}),
    ("王大山 没有贷款", {"credit": OK}),
    ("王大山 养老金没领到", {"security": BAD}),
    ("王大山 低保被取消了", {"security": BAD}),
    ("王大山 医保好像交了", {"medical": ASK}),
    ("王大山 房子还行吧", {"housing": ASK}),
    ("王大山 医保不知道交没交", {"medical": ASK}),
    ("王大山 听说孩子不上学了", {"education": ASK}),
    ("王大山 飲水正常 住房安全 醫保已繳", {"water": OK, "housing": OK, "medical": OK}),
    ("王大山 房屋漏語 孩子綴學", {"housing": BAD, "education": BAD}),
    ("王大山 一保已经交了 引水正常 住房安权", {"medical": OK, "water": OK, "housing": OK}),
    ("王大山 饮水不安全", {"water": BAD}),
    ("王大山 没有危房", {"housing": OK}),
    ("王大山 不存在辍学", {"education": OK}),
    ("王大山 住房没有安全隐患", {"housing": OK}),
    ("王大山 医疗没有保障", {"medical": BAD}),
    ("王大山 饮水 正常", {"water": OK}),
    (
        "王大山 饮水 教育 医疗 住房 都正常",
        dict.fromkeys(("water", "education", "medical", "housing"), OK),
    ),
    (
        "王大山 两不愁三保障都没问题",
        dict.fromkeys(("water", "education", "medical", "housing", "income"), OK),
    ),
    ("王大山 房子去年漏过雨 今年修好了", {"housing": OK}),
    ("王大山 医疗：已参保；住房：C级危房", {"medical": OK, "housing": BAD}),
    ("王大山 房子没问题，就是屋顶有点漏", {"housing": BAD}),
    ("王大山 低保没有纳入 残疾证已办", {"security": BAD}),
    ("王大山 自来水还没通", {"water": BAD}),
    ("王大山 水管爆了已经换新的", {"water": OK}),
    ("王大山 房前屋后卫生干净", {}),
    ("李四 饮水:√ 住房:√ 医疗:×", {"water": OK, "housing": OK, "medical": BAD}),
    ("李四 吃水OK 住房Ok", {"water": OK, "housing": OK}),
    ("李四 房子漏雨已经报给村里了 还没修", {"housing": BAD}),
    ("李四 慢病卡过期了", {"medical": BAD}),
    ("李四 家里两个娃 一个读初中 一个读小学", {"education": OK}),
    ("李四 孩子在外地上学 学费交不起", {"education": BAD}),
    ("李四 今年的医保费还差一个人没交", {"medical": BAD}),
    ("李四 医保卡丢了在补办", {"medical": ASK}),
    ("李四 残疾证办好了 两项补贴都在领", {"security": OK}),
    ("李四 吃的用的儿女都送回来，不缺", {"income": OK}),
    ("邓婆婆 一个人住 身体还行", {}),
    ("王大山 房子屋顶漏雨 老人身体还行", {"housing": BAD}),
    ("李婶家医保交了没？交了。房子呢？不漏了", {"medical": OK, "housing": OK}),
    ("郑家房子正在改造 预计下个月完工", {"housing": ASK}),
    ("劉大媽家飲水沒問題醫保交了房子漏語", {"water": OK, "medical": OK, "housing": BAD}),
    ("孙七家医保已经叫了 房子没文题", {"medical": OK, "housing": OK}),
    ("孙七 房子没咋地", {"housing": ASK}),
    ("孙七 滴保没批下来", {"security": BAD}),
    ("孙七 带款于期了", {"credit": BAD}),
    ("孙七 没火干 在家待着", {"employment": BAD}),
    ("孙七 房子修好了又漏了", {"housing": BAD}),
    ("孙七 水通了又停了", {"water": BAD}),
    ("孙七 医保交了两个人 还有一个没交", {"medical": BAD}),
    ("孙七 屋顶漏水需要维修", {"housing": BAD}),
    ("赵六 多亏政府帮忙房子修好了", {"housing": OK}),
    ("赵六 儿子出差去了 房子安全", {"housing": OK}),
    ("赵六 医保交了，就是老人腿脚不好", {"medical": ASK}),
    ("赵六 住房没什么大问题", {"housing": OK}),
    ("赵六 饮水没有问题 住房没有问题", {"water": OK, "housing": OK}),
    ("周八 家里粮食不够吃了", {"income": BAD}),
    (
        "王五 1、饮水：正常 2、教育：正常 3、住房：危房",
        {"water": OK, "education": OK, "housing": BAD},
    ),
    ("王五 饮水:正常,住房:正常,医疗:未参保", {"water": OK, "housing": OK, "medical": BAD}),
    ("王五【饮水】正常【住房】漏雨", {"water": OK, "housing": BAD}),
    ("王五 饮水安全：是 住房安全：否", {"water": OK, "housing": BAD}),
    ("王五 是否辍学：否 是否参保：是", {"education": OK, "medical": OK}),
    ("王五 饮水 ✓ 住房 ✗", {"water": OK, "housing": BAD}),
    ("王五 饮水正常/住房正常/医保已交", {"water": OK, "housing": OK, "medical": OK}),
    ("陈德贵家房子后墙有一条大裂缝，下雨往里渗水", {"housing": BAD}),
    ("老吴在村里当护林员，一个月六百", {"employment": OK}),
    ("周八 家里没有不交医保的", {"medical": OK}),
    ("周八 感觉房子有点危险", {"housing": ASK}),
    ("周八 家里没有收入", {"income": BAD}),
    ("周八 人均收入超过一万", {"income": OK}),
    ("周八 两个劳动力都在家闲着", {"employment": BAD}),
    ("周八 参加了技能培训 准备出去打工", {"employment": ASK}),
    ("周八 公益岗被辞退了", {"employment": BAD}),
    ("周八 女儿大学毕业还没找到工作", {"employment": BAD}),
    ("周八 种的辣椒价格低 亏本了", {"industry": BAD}),
    ("周八 没有产业", {"industry": BAD}),
    ("周八 小额信贷五万 已到期 还没还", {"credit": BAD}),
    ("周八 不想贷款", {"credit": OK}),
    ("周八 养老保险断缴了两年", {"security": BAD}),
    ("周八 低保还在办 不知道批没批", {"security": ASK}),
    ("周八 入户管道已接通", {"water": OK}),
    ("周八 家里有水窖 够吃", {"water": OK}),
    ("周八 住院自付部分太高 负担重", {"medical": BAD}),
    ("周八 房子年久失修", {"housing": BAD}),
    ("周八 看病报销不了 没在定点医院", {"medical": BAD}),
    ("周八 学费交不起了", {"education": BAD}),
    ("周八 孩子劝返后又跑出去了", {"education": BAD}),
    ("周八 墙皮掉了一点，不影响住", {"housing": OK}),
    ("周八 水、电、房子都没问题", {"water": OK, "housing": OK}),
    ("周八 老伴住院了 还没出院 费用能报", {"medical": OK}),
    ("周八 老伴瘫在床上 他要照顾 出不去打工", {"employment": ASK}),
    ("周八 娃说是劝返了，结果去了两天又不去了", {"education": BAD}),
    ("周八 饮水 是；住房 是；医疗 否", {"water": OK, "housing": OK, "medical": BAD}),
    ("周八 信贷 无 逾期 无", {"credit": OK}),
    ("周八 医保 无", {"medical": BAD}),
    ("周八 低保因收入超标被取消了，现在收入稳定", {"income": OK, "security": BAD}),
    ("周八 房子没啥问题就是水不太方便", {"housing": OK, "water": ASK}),
    ("周八 家的猪瘟死了好几头", {"industry": BAD}),
    ("周八 老房子拆了没有？已经拆了", {"housing": OK}),
    ("周八 大女儿读大学，申请了生源地助学贷款", {"education": OK}),
    ("周八 危房已经修缮完毕，住着放心", {"housing": OK}),
    # A "not yet" after a bad word: the fix is pending, the problem stands.
    ("郑九 墙上裂缝还没补", {"housing": BAD}),
    ("郑九 危房还没改", {"housing": BAD}),
    # A verb of the check's business done (给过, 批了) is fine when nothing else is said;
    # going and doing (做了手术) say nothing of the check.
    ("郑九 临时救助给过一次", {"security": OK}),
    ("郑九 老伴住院做了手术", {"medical": ASK}),
    # What will be done once something else happens (等 ... 再) is not said yet.
    ("郑九 医保说等发了工资再交", {"medical": ASK}),
    # 干了两年 is work done, not water dried up.
    ("郑九 儿子在工地干了两年了", {"employment": ASK}),
    ("郑九 孩子初三不念了", {"education": BAD}),
    ("郑九 学费全免", {"education": OK}),
    ("郑九 粮食只够吃半年", {"income": ASK}),
    ("郑九 房子没啥毛病", {"housing": OK}),
    # 没 + a one-character verb in a clause that names no check is not sure of its check.
    ("郑九 孩子在镇上读书，一天都没落下", {"education": OK}),
    # A potential complement (卖不掉) cannot be done: asked, and never read as 不掉 = good.
    ("郑九 种的橘子卖不掉", {"industry": ASK}),
    # 没有……不……的: nobody who does not -- everyone does.
    ("郑九 全家没有一个人不交医保的", {"medical": OK}),
    ("郑九 家里没有劳力不打工的", {"employment": OK}),
    # 没有 + a short subject + a bad word: nobody had it; not past the check's own word.
    ("郑九 村里没有一户孩子辍学", {"education": OK}),
    ("郑九 没有医保卡看病难", {"medical": BAD}),
    # Words that look bad but are not (停电 says nothing of water; not yet due is no arrears).
    ("郑九 停电了但是自来水照常有", {"water": OK}),
    ("郑九 扶贫贷款还没到还款时间", {"credit": ASK}),
    ("郑九 房子暂时看不出什么问题", {"housing": ASK}),
    # 有 + something the reader does not know: good or bad, not sure.
    ("郑九 屋里有白蚁", {"housing": ASK}),
    ("郑九 房子后面有塌方的迹象", {"housing": BAD}),
    # 比去年 is a comparison of now, not the past.
    ("郑九 今年收入比去年少了", {"income": BAD}),
    # 还没 + a one-character verb that runs on into a longer word (通知) is not sure.
    ("郑九 低保申请了，还没通知", {"security": ASK}),
    ("郑九 低保申请了，还没批", {"security": BAD}),
    # Not needing a loan is fine, even in words that are bad news elsewhere.
    ("郑九 没有贷款，说用不着", {"credit": OK}),
    ("郑九 养老金没变", {"security": OK}),
    (
        "孙七 饮水正常 收入正常 就业正常 产业正常 信贷正常 保障正常",
        dict.fromkeys(("water", "income", "employment", "industry", "credit", "security"), OK),
    ),
]


def _statuses(text: str) -> dict[str, str]:
    report = read_report(text)
    return {k: (r.status if r.confident else ASK) or ASK for k, r in report.readings.items()}


@pytest.mark.parametrize(("text", "want"), CASES, ids=[c[0][4:] for c in CASES])
def test_a_report_is_read_as_a_careful_clerk_would(text, want):
    assert _statuses(text) == want


def test_the_note_is_the_text_after_the_household_exactly():
    report = read_report("王大山  饮水：正常，血压160/100；腿脚不便 ")
    assert report.query == "王大山"
    assert report.note == "饮水：正常，血压160/100；腿脚不便"
    assert report.unread == ("血压160/100", "腿脚不便")


def test_words_before_the_name_keep_the_whole_message_as_the_note():
    report = read_report("今天去了唐大勇家，吃水没问题")
    assert (report.query, report.note) == ("唐大勇", "今天去了唐大勇家，吃水没问题")
    assert read_report("唐大勇家，吃水没问题").note == "吃水没问题"


def test_only_confident_readings_are_recorded_and_the_rest_are_unclear():
    report = read_report("王大山 医保已交 房子好像有点裂")
    assert set(report.checks) == {"medical"}
    assert report.unclear == ("housing",)
    assert report.readings["housing"].confidence < CONFIDENT
    assert report.readings["housing"].text == "房子好像有点裂"
    assert report.checklist() == {"medical": {"status": "ok", "text": "医保已交"}}


def test_a_glued_report_is_cut_into_one_clause_per_check():
    report = read_report("王大山饮水正常医保已交屋顶漏雨")
    assert report.query == "王大山"
    assert {k: r.text for k, r in report.readings.items()} == {
        "water": "饮水正常",
        "medical": "医保已交",
        "housing": "屋顶漏雨",
    }


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("今天去了唐大勇家，吃水没问题", "唐大勇"),
        ("DL-01-003 饮水正常", "DL-01-003"),
        ("HH0012 饮水正常", "HH0012"),
        ("張大山 飲水正常", "张大山"),
        ("牛二 饮水正常", "牛二"),
        ("蔡老五无辍学", "蔡老五"),
    ],
)
def test_the_household_is_found_at_the_start(text, query):
    assert read_report(text).query == query


def test_a_free_message_that_reports_checks_scores_high_and_a_question_scores_zero():
    report = read_report("今天去了唐大勇家，吃水没问题，医保交了，房子有点裂缝")
    assert report.mentions_checks >= 0.9
    assert read_report("王大山 饮水正常").mentions_checks >= 0.5
    assert read_report("医保报销比例是多少").mentions_checks == 0
    assert read_report("过渡期什么时候结束").mentions_checks == 0
    assert read_report("收到").mentions_checks == 0


def test_empty_and_odd_input_read_to_nothing():
    for text in ("", "   ", "？？？", "/", "👌", "a" * 5000):
        report = read_report(text)
        assert report.checks == {} and report.unclear == ()


def test_names_of_the_village_are_never_read_as_check_words():
    names = ("叶水生", "房玉兰", "王三", "王三女")
    report = read_report("叶水生家入股的光伏今年分红到了", names)
    assert report.query == "叶水生" and set(report.readings) == {"industry"}
    assert read_report("叶水生外出务工", names).query == "叶水生"
    # A name further on (the code came first, as free text is read) is not 水 either.
    later = read_report("DL-041 叶水生家看病挺方便", names)
    assert later.query == "DL-041" and set(later.readings) == {"medical"}
    # 王三汝 is 王三女 typed wrong, not 王三 followed by 汝.
    assert read_report("王三汝 饮水正常", names).query == "王三汝"
    assert read_report("今天去了房玉兰家，吃水没问题", names).query == "房玉兰"
