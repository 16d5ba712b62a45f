"""The words the reader knows: which check a clause is about, and what it says of it.

Written from the household questionnaire (两不愁三保障 and the rest), the way secretaries
write: the official term, the colloquial one, the object of the check (屋顶, 水管, 新农合).
Strong words decide the check of a clause, and two strong words of different checks in one
clause split it (``饮水正常医保已交``); weak words (孩子, 生活) only count when nothing
stronger is there.
"""

from __future__ import annotations


def _w(words: str) -> tuple[str, ...]:
    return tuple(words.split())


STRONG: dict[str, tuple[str, ...]] = {
    "water": _w(
        "水 饮水 吃水 喝水 自来水 水源 水质 水管 水窖 用水 停水 水井 水龙头 供水 井水 山泉水 安全饮水 饮用水 水压 水池 蓄水池 来水 没水 有水 断水 水费 人饮 水柜"
    ),
    "education": _w(
        "教育 年级 村小 中心校 上学 读书 念书 学校 辍学 失学 助学 学费 义务教育 在校 入学 劝返 返校 控辍保学 上课 雨露计划 送教上门 营养餐 小学 初中 中学 高中 大学 幼儿园 学生 读初 读小 读高 读大 上初 上小 上高 上幼 教育资助 两免一补 寄宿"
    ),
    "medical": _w(
        "医疗 医保 看病 住院 大病 慢性病 慢病 家庭医生 签约医生 合作医疗 新农合 药费 吃药 报销 医药费 门诊 体检 就医 卫生室 医疗保险 居民医保 先诊疗后付费 一站式 医院 治病 手术 参合 农合 买药 拿药 医疗救助 家医 医生"
    ),
    "housing": _w(
        "住房 堡坎 保坎 挡墙 挡土墙 护坡 院墙 房子 房屋 危房 屋顶 漏雨 墙体 墙 房顶 瓦片 瓦 屋面 易地搬迁 搬迁 安置房 土坯房 砖房 地基 门窗 房梁 住的 住得 屋里 危改 改造房 新房 老房 旧房 房间 屋子 楼板 横梁 柱子 房 屋"
    ),
    "income": _w(
        "收入 两不愁 吃穿 吃饭 穿衣 粮食 口粮 温饱 吃喝 衣服 被子 棉被 年收入 人均 家庭收入 生活费 吃不饱 穿不暖 穿暖 吃饱 大米 米面 油盐 存粮 余粮"
    ),
    "employment": _w(
        "就业 务工 打工 外出 公益岗 培训 干不了活 干不动 无业 待业 闲着 活干 没活 收银员 木工 装修队 保安 司机 厨师 服务员 找活 上班 干活 劳动力 护林员 保洁员 扶贫车间 帮扶车间 技能 工资 打零工 零工 岗位 务农 失业 做工 工地 厂里 进厂"
    ),
    "industry": _w(
        "产业 光伏 蜂蜜 养殖 种植 分红 合作社 养猪 养牛 养鸡 养羊 养鸭 养蜂 养鱼 果园 茶园 种地 庄稼 蔬菜 大棚 药材 烤烟 核桃 产业奖补 奖补 猪 牛 羊 鸡 鸭 果树 茶叶 玉米 土豆 魔芋 花椒 菌 收成 种了 养了 苗"
    ),
    "credit": _w("小额信贷 贷款 信贷 扶贫贷 还款 逾期 贷 借款 利息 贴息 还贷 借贷 小贷"),
    "security": _w(
        "低保 养老 社保 特困 残疾证 临时救助 救助 五保 保障金 残疾补贴 两项补贴 养老金 高龄补贴 补贴 兜底 供养 残补 护理补贴 社会保障 养老保险 城乡居民养老 临救"
    ),
}

WEAK: dict[str, tuple[str, ...]] = {
    "security": _w("保障"),
    "medical": _w("高血压 血压 糖尿病 生病 病了 心脏病 瘫痪 中风 偏瘫 癌症 肿瘤"),
    "education": _w("孩子 小孩 娃 儿子 女儿 孙子 孙女 学"),
    "income": _w("生活 吃 穿 吃的 穿的"),
    "employment": _w("出去 在外 挣钱 工作"),
    "housing": _w("住"),
}

# Words that name several checks at once.
GROUPS: dict[str, tuple[str | None, ...]] = {
    "两不愁三保障": ("water", "education", "medical", "housing", "income"),
    "三保障": ("water", "education", "medical", "housing"),
}

# Words that are not the check they seem to name (longest match wins, so these shadow).
NOT_A_CHECK = _w(
    "雨水 水平 薪水 水利 洪水 水灾 水产 水库 水田 开水 热水 水电 房前屋后 卫生 水泥 水果 水稻 水电费 泥水 口水 学习 工作队 工作组 驻村工作 房东 养老院 医生说 做工作"
    " 做了工作 思想工作 工作人员 做通 村里 老人家 人家 家里人 家人 在家 回家 老家"
)

# Typos of phone keyboards (pinyin homophones) and voice typing -> the intended word.
TYPOS: dict[str, str] = {
    wrong: right
    for wrong, _, right in (
        pair.partition(">")
        for pair in _w(
            "引水>饮水 隐水>饮水 饮谁>饮水 医宝>医保 依保>医保 一保>医保 意保>医保 医疗保线>医疗保险"
            " 住方>住房 住防>住房 漏语>漏雨 漏与>漏雨 低宝>低保 抵保>低保 正长>正常 正尝>正常"
            " 整常>正常 缀学>辍学 啜学>辍学 搓学>辍学 戳学>辍学 上雪>上学 尚学>上学 收如>收入"
            " 就叶>就业 产叶>产业 贷宽>贷款 危方>危房 自来谁>自来水 读数>读书 房字>房子 防子>房子"
            " 屋定>屋顶 医廖>医疗 以交>已交 一交>已交 以缴>已缴 没问提>没问题 没问体>没问题"
            " 无问提>无问题 保销>报销 报消>报销 新农和>新农合 养住>养猪 大鹏>大棚 逾其>逾期"
            " 务攻>务工 打攻>打工 残急>残疾 安权>安全 按全>安全 稳订>稳定 以经>已经 己经>已经"
            " 已经叫了>已经交了 保叫了>保交了 已叫>已交 没文题>没问题 一宝>医保 滴保>低保 底保>低保"
            " 带款>贷款 于期>逾期 鱼期>逾期 雾工>务工 没火干>没活干 劝反>劝返 劝范>劝返 为房>危房"
            " 微房>危房 列缝>裂缝 养老今>养老金 包销>报销 己交>已交 巳交>已交 正帝>正常 低报>低保 问定>稳定 饮说>饮水 错学>辍学 不露>不漏"
            " 残疾正>残疾证 外处>外出 正场>正常 医报>医保 住放>住房 房顶露>房顶漏 露雨>漏雨"
            " 露水>漏水 稳顶>稳定 收路>收入 就页>就业 产页>产业 代款>贷款 贷宽>贷款 逾欺>逾期"
            " 饮用谁>饮用水 吃谁>吃水 喝谁>喝水 上血>上学 义物>义务 一务>义务 医聊>医疗 低包>低保"
            " 养老经>养老金 交料>交了 缴料>缴了 没交料>没交了 危放>危房 漏鱼>漏雨 无缀学>无辍学"
        )
    )
}
