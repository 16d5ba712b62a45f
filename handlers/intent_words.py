"""The word lists the free-text reader (handlers/intent_read.py) matches, in one place.

They are matched on the text folded to simplified characters, lower case, with spaces,
punctuation and emoji other than 👌/👍 removed (``intent_read.fold``).
"""

from __future__ import annotations

import re

# A whole message that only acknowledges (收到 and its everyday forms).
ACK_WORDS = frozenset(
    {
        "收到",
        "收到了",
        "收到啦",
        "收到收到",
        "已收到",
        "收悉",
        "知悉",
        "已知悉",
        "好的",
        "好的收到",
        "收到好的",
        "好的明白",
        "好",
        "好嘞",
        "好滴",
        "好哒",
        "已阅",
        "阅",
        "已阅收到",
        "明白",
        "明白了",
        "知道了",
        "知道",
        "了解",
        "了解了",
        "ok",
        "okay",
        "👌",
        "👍",
        "嗯",
        "嗯嗯",
        "行",
        "可以",
        "没问题",
        "遵照执行",
        "照办",
        # dialect and colloquial forms
        "要得",
        "要得要得",
        "中",
        "中中",
        "中中中",
        "晓得",
        "晓得了",
        "得嘞",
        "行嘞",
        "好咧",
        "妥",
        "妥了",
        "没得问题",
        "冇问题",
        "嗯呐",
        "好嘞好嘞",
        "可以可以",
        "okk",
        "ok了",
        # done-words that answer a push as a receipt does
        "已落实",
        "已转发",
        "已传达",
        "已知晓",
        "知晓",
    }
)
# Particles a receipt may end with (收到哈, 好的呀); never 吗 (a question).
ACK_PARTICLES = re.compile(r"[哈嘛啦咯哦呀啊喽嘞咧呐滴哒]+$")
# A message may start with one of these and go on with a short promise (收到，下午就去办):
# after a strong head any short statement is still a receipt; after a weak one only thanks
# and promises (ACK_TAIL) are.
STRONG_HEADS = (
    "收到",
    "已收到",
    "收悉",
    "知悉",
    "已知悉",
    "已知晓",
    "已阅",
    "已转发",
    "已传达",
    "已落实",
)
WEAK_HEADS = ("好的", "好嘞", "明白", "知道了", "了解", "ok", "👌", "👍")
# A one-character yes set off by punctuation (好，我们村马上落实) reads as 好的 (the folded
# 好我们村 would not).
YES_HEAD = re.compile(r"^\s*(?:好|行|嗯|中|要得)[，,。.!！\s]+(?=\S)")
FILLERS = ("嗯嗯", "嗯", "哦", "噢", "好的好的")  # stripped before a head: 嗯嗯好的
# Small talk: greetings, thanks, feelings. Never a question for the county.
SMALL_TALK = frozenset(
    {
        "你好",
        "您好",
        "你好啊",
        "大家好",
        "在吗",
        "在不在",
        "在么",
        "早",
        "早上好",
        "上午好",
        "中午好",
        "下午好",
        "晚上好",
        "晚安",
        "谢谢",
        "谢谢你",
        "谢谢您",
        "多谢",
        "感谢",
        "辛苦了",
        "辛苦",
        "哈哈",
        "哈哈哈",
        "呵呵",
        "嗨",
        "hi",
        "hello",
        "喂",
        "哎",
        "唉",
        "吃了吗",
        "吃了没",
    }
)
# Words after an ACK_HEAD that keep the message an acknowledgement: thanks and promises.
ACK_TAIL = re.compile(
    r"谢谢|感谢|辛苦|领导|马上|立即|立刻|尽快|按时|准时|今天|明天|下午|上午|晚上|就去|去办|"
    r"落实|执行|照办|按要求|安排|组织|报|办|查|去|到|做|处理|完成|参加|一起|转发|传达|通知|"
    r"告知|部署|已"
)
ACK_TAIL_MAX = 16  # characters after the head; longer is more than a receipt

SMALL_TALK_TAIL_MAX = 4  # 谢谢领导, 大家早上好: small talk with a few words more

# Words that make a message a question (after NOT_A_QUESTION is taken out).
QUESTION = re.compile(
    r"[?？]|吗|么$|什么|多少|怎么|怎样|如何|哪|多久|多长|多大|多远|多宽|多高|多深|多重|为什么|为啥|啥|咋|是否|"
    r"能不能|能否|可不可以|可以吗|有没有|要不要|算不算|是不是|谁|请问|何时|"
    r"几[次个年岁天月号点种类项户口]|区别|了没有?[。！!？?~～]*$|"
    r"([\u4e00-\u9fff])不\1"  # A-not-A: 会不会, 行不行, 够不够
)
# Negated or indefinite uses of question words, and requests that are no questions: 没啥变化,
# 没什么困难, 什么都好, 这几天, 的几户都完工了, 你们能不能别天天让报材料, 是否辍学：否.
NOT_A_QUESTION = re.compile(
    r"没有?(?:什么|啥|咋)|(?:什么|啥)(?:都|也)|能不能(?:别|不要)|可不可以(?:别|不要)|"
    r"不管(?:什么|啥|怎么)|[这那的前好十]几[次个年岁天月号点种类项户口]|几[次个年岁天月号点种类项户口](?:都|也)|"
    r"(?:是否|有没有|有无)[^，,。？?；;]{0,12}[：:]"  # a form's item and its answer: 是否辍学：否
)
# A question put as a request (我想问一下低保的事) or a yes/no question ending in 不 / 没
# (有高龄补贴不, 钱发了没): as much a question as one with 吗.
REQUEST = re.compile(r"想问|想了解|问一下|问下|请教|咨询一下|想知道|打听一下")
YES_NO_END = re.compile(
    r"(?:有|是|能|要|会|可以|算|给|发|交|报|够|行)[^，,。.!！;；？?]{0,12}(?:不|没|没有)[。！!~～]*$"
)
# Policy words that are also the words of the cadres' own work (走访, 台账): a question
# with only these may be about the app's records (这个月走访了多少户), so it is asked first.
WORK = re.compile(r"走访|台账|整改|考核|验收|督查|普查|农户")
# A statement that reports something done or changed (今天全村低保都发下来了): news, not a
# question, when it has no question form.
NEWS = re.compile(r"(?:了|过|啦|完|好)[。！!~～]*$|已经?|完成|完工|结束")
# A household named in a plan, not a report (明天去张秀梅家).
PLAN = re.compile(r"明天|后天|明早|下午去|晚上去|准备去|打算去|要去|过两天|下周|改天|约了|待会")
# A plan that still names checks (明天去唐勇家看看房子漏雨的事): 要去 is left out, as reports
# use it of the family (吃水要去半里外挑).
PLAN_AHEAD = re.compile(r"明天|后天|明早|下午去|晚上去|准备去|打算去|过两天|下周|改天|约了|待会")
# The vocabulary of policy questions (DOMAIN.md): a question without any of it is about
# something else (the app, the weather) and is not forwarded to the county.
POLICY = re.compile(
    r"低保|渐退|医保|医疗|报销|住院|大病|慢性病|慢病|家庭医生|先诊疗|一站式|新农合|合作医疗|"
    r"贫困|脱贫|返贫|致贫|监测|三类户|边缘|过渡期|四个不摘|两不愁|三保障|五个一批|六个精准|"
    r"两个确保|特困|供养|五保|临时救助|救助|残疾|养老|社保|小额信贷|信贷|贷款|贷|利息|贴息|"
    r"分红|合作社|产业|就业|公益岗|务工|培训|雨露计划|助学|资助|学费|辍学|义务教育|控辍|"
    r"危房|改造|住房|宅基地|搬迁|饮水|自来水|水质|帮扶|驻村|第一书记|走访|退出|发生率|"
    r"标准|条件|政策|规定|补助|补贴|申请|认定|识别|材料|程序|流程|村医|卫生室|宽带|动力电|"
    r"文化|硬化路|通客车|收入|人均|资金|公示|公开|扶贫|振兴|光伏|收益|分配|集体|项目|"
    r"生态|护林员|保险|补偿|兜底|摘帽|考核|验收|台账|整改|帮扶|结对|农户|户口|分户|"
    r"建档立卡|生活费|缴费|参保|保费|鉴定|普查|督查|职业教育|户籍"
)
# Words that make a question a policy one, but alone (in a statement) say nothing.
POLICY_IN_QUESTION = re.compile(
    r"待遇|享受|困难|发放|领取|门诊|看病|签约|评估|抽查|大学|高中|中职|学生|上学|钱|"
    r"[0-9一二三四五六七八九十百千万]元|岁|农村|村民|年龄|名额|人口|客车|公路|电网|宽带|广播|"
    r"电视|卫生"
)

# A question about the app or the chat itself, not about policy.
APP = re.compile(
    r"这个|你们|系统|软件|程序|机器人|助手|怎么用|咋用|用法|照片|图片|发图|登录|绑定|解绑|"
    r"密码|网|卡顿|闪退|按钮|菜单|微信|群|客服|值班|下班|上班|电话"
)
# The app's own words, narrower than APP: a question in policy words that also names these
# (低保户的照片怎么传) may be about the app: asked first, not forwarded.
APP_TOPIC = re.compile(
    r"系统|软件|小程序|机器人|助手|怎么用|咋用|登录|登陆|绑定|解绑|密码|按钮|菜单|撤回|上传|发图|"
    r"截图|闪退|卡顿"
)
# Done-words: a receipt after a push, but inside an open submission the submission's text.
DONE_HEADS = ("已落实", "已转发", "已传达", "已完成", "已经")
QUESTION_MIN = 6  # a question without policy words this long (folded) may still be one: ask

# A command-like fragment: a word or two and a number (忽略 12), or only digits.
FRAGMENT = re.compile(r"^(?:[\u4e00-\u9fff]{1,4}\d{1,9}|\d{1,12}|[a-z]{1,8}\d{0,9})$")
# How people name a household without its head's full name: 唐家, 何婶, 罗大爷家, 老冯家.
KIN = (
    "大爷",
    "大娘",
    "大妈",
    "大伯",
    "大叔",
    "大婶",
    "大哥",
    "大姐",
    "奶奶",
    "爷爷",
    "婆婆",
    "老汉",
    "阿姨",
    "阿婆",
    "婶子",
    "婶",
    "叔",
    "伯",
    "嫂",
    "家",
)
# Words a visit report uses besides the checks themselves.
ALL_FINE = re.compile(
    r"一切正常|都挺好|都好|都正常|都没问题|没什么问题|没啥问题|各项正常|情况稳定|没什么困难|没啥困难|没啥变化|没什么变化|"
    r"老样子|跟上次一样|和上次一样"
)
VISIT_WORDS = re.compile(r"走访|入户|上门|去了|去过|去看|看了|看过|看望|家里|一切正常|都挺好|都好")
