"""Build Winnow's starter lexicons from the LDNOOBW lists (CC BY 4.0) in ../shared/data.

LDNOOBW is one flat list per language. Winnow needs terms per label with a score, so this script
assigns each term a label and score, and leaves out terms that fire mostly on innocent text (the
reasons are next to each set). The output lives in src/winnow/data/lexicons/<lang>/ldnoobw-*.txt
and is committed, because a user's clone has no ../shared/data. Re-run after editing:

    python scripts/build_lexicons.py [--data ../shared/data]

Winnow's own lists (spam, threats, self-harm, drugs, gambling) sit beside them as winnow-*.txt and
are edited by hand.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "winnow" / "data" / "lexicons"
SET = "lexicon-ldnoobw-profanity"

# --- English -------------------------------------------------------------------------------
EN_SLURS = {  # hate/slur
    "nigger": 0.95,
    "nigga": 0.75,
    "kike": 0.9,
    "spic": 0.85,
    "wetback": 0.9,
    "beaner": 0.85,
    "beaners": 0.85,
    "coon": 0.6,
    "coons": 0.6,
    "darkie": 0.85,
    "jigaboo": 0.9,
    "jiggaboo": 0.9,
    "jiggerboo": 0.9,
    "nig nog": 0.9,
    "paki": 0.8,
    "raghead": 0.9,
    "towelhead": 0.9,
    "slanteye": 0.9,
    "honkey": 0.7,
    "pikey": 0.8,
    "fag": 0.8,
    "faggot": 0.9,
    "tranny": 0.8,
    "bulldyke": 0.85,
    "carpet muncher": 0.8,
    "carpetmuncher": 0.8,
    "fudge packer": 0.8,
    "fudgepacker": 0.8,
    "poof": 0.5,
    "spastic": 0.6,
    "mong": 0.5,
    "negro": 0.4,
}
EN_EXTREMISM = {"white power": 0.6, "neonazi": 0.4, "swastika": 0.3}  # extremism/content
EN_PROFANITY = {  # harassment/profanity
    "fuck": 0.8,
    "fuckin": 0.8,
    "fucking": 0.8,
    "motherfucker": 0.85,
    "clusterfuck": 0.7,
    "shit": 0.7,
    "shitty": 0.65,
    "bullshit": 0.7,
    "apeshit": 0.65,
    "piece of shit": 0.8,
    "shitblimp": 0.7,
    "ass": 0.55,
    "arsehole": 0.75,
    "asshole": 0.8,
    "assmunch": 0.8,
    "bastard": 0.7,
    "bitch": 0.8,
    "bitches": 0.8,
    "bollocks": 0.6,
    "cock": 0.55,
    "cunt": 0.85,
    "dick": 0.5,
    "god damn": 0.5,
    "tosser": 0.7,
    "twat": 0.8,
    "wank": 0.7,
    "whore": 0.8,
    "slut": 0.8,
    "🖕": 0.6,
}
EN_INSULT = {"fucktards": 0.85}  # harassment/insult
EN_SUGGESTIVE = {  # sexual/suggestive: words with everyday or medical uses score low
    "sex": 0.45,
    "sexy": 0.4,
    "sexual": 0.3,
    "sexually": 0.3,
    "sexuality": 0.2,
    "erotic": 0.5,
    "erotism": 0.5,
    "nude": 0.5,
    "nudity": 0.5,
    "topless": 0.5,
    "panties": 0.45,
    "panty": 0.45,
    "nipple": 0.4,
    "nipples": 0.4,
    "kinky": 0.45,
    "horny": 0.5,
    "busty": 0.5,
    "lovemaking": 0.4,
    "intercourse": 0.4,
    "undressing": 0.4,
    "voyeur": 0.4,
    "playboy": 0.3,
    "hooker": 0.5,
    "genitals": 0.35,
    "vagina": 0.35,
    "penis": 0.35,
    "vulva": 0.35,
    "clitoris": 0.4,
    "anus": 0.35,
    "anal": 0.5,
    "grope": 0.45,
    "humping": 0.5,
    "strip club": 0.45,
    "lolita": 0.4,
    "paedophile": 0.3,
    "pedophile": 0.3,
    "nsfw": 0.45,
    "nsfw images": 0.55,
    "yaoi": 0.5,
    "menage a trois": 0.5,
    "sexo": 0.5,
    "booty call": 0.5,
    "hot chick": 0.4,
    "milf": 0.6,
    "bbw": 0.5,
    "camgirl": 0.55,
    "bondage": 0.5,
    "fetish": 0.5,
    "foot fetish": 0.55,
    "dominatrix": 0.5,
    "bdsm": 0.55,
    "swinger": 0.4,
    "threesome": 0.55,
    "orgasm": 0.6,
}
EN_MINORS = {  # sexual/explicit at the highest score: terms used to trade abuse material
    "pthc": 1.0,
    "jailbait": 0.9,
    "jail bait": 0.9,
    "barely legal": 0.8,
    "shota": 0.8,
    "pedobear": 0.7,
    "nambla": 0.7,
}
EN_VIOLENCE = {
    "how to kill": 0.5,
    "how to murder": 0.6,
    "rape": 0.6,
    "raping": 0.65,
    "rapist": 0.55,
    "date rape": 0.65,
    "daterape": 0.65,
}  # violence/threat
EN_SPAM = {"viagra": 0.7, "cialis": 0.7}  # spam/ad
EN_EXCLUDE = {
    "cum": ["cum laude", "summa cum laude", "magna cum laude"],
    "anal": ["anal retentive"],
}
EN_DROP = {  # everyday words, names, titles, or too short to mean anything alone
    "xx",
    "xxx",
    "suck",
    "sucks",
    "butt",
    "girl on",
    "taste my",
    "tied up",
    "tight white",
    "tongue in a",
    "big black",
    "domination",
    "eunuch",
    "scat",
    "snatch",
    "sadism",
    "tainted love",
    "santorum",
    "octopussy",
    "escort",
    "rectum",
    "dommes",
    "babeland",
    "twink",
    "twinkie",
    "jelly donut",
    "dirty pillows",
    "pleasure chest",
    "hard core",
    "hardcore",
    "poon",
    "mound of venus",
    "venus mound",
    "muff diver",
    "birdlock",
    "dolcett",
    "figging",
    "kinbaku",
    "nawashi",
    "shibari",
    "omorashi",
    "gokkun",
    "strappado",
    "bastardo",
    "bastinado",
    "huge fat",
    "hot carl",
    "beaver lips",
    "goo girl",
    "cornhole",
    "skeet",
    "tushy",
    "spunk",
    "juggs",
    "quim",
    "homoerotic",
}

# --- Chinese -------------------------------------------------------------------------------
ZH_INSULT = {  # harassment/insult
    "傻比": 0.85,
    "傻逼": 0.9,
    "你个傻比": 0.9,
    "白痴": 0.6,
    "白癡": 0.6,
    "笨蛋": 0.4,
    "王八蛋": 0.8,
    "贱人": 0.85,
    "贱货": 0.85,
    "烂货": 0.8,
    "杂种": 0.85,
    "婊子": 0.85,
    "婊子养的": 0.9,
    "狗日": 0.75,
    "狗狼养的": 0.85,
    "龟儿子": 0.75,
    "瘪三": 0.7,
    "小瘪三": 0.7,
    "老瘪三": 0.7,
    "刚瘪三": 0.7,
    "下三烂": 0.7,
    "下贱": 0.6,
    "你是鸡": 0.8,
    "你是鸭": 0.8,
    "瓜娃子": 0.6,
    "瓜婆娘": 0.6,
    "瓜批": 0.7,
    "逼样": 0.8,
    "骚货": 0.85,
    "小骚货": 0.85,
    "老骚货": 0.85,
    "骚比": 0.85,
    "小骚比": 0.85,
    "老骚比": 0.85,
    "骚逼": 0.85,
    "荡妇": 0.8,
    "淫妇": 0.8,
    "野鸡": 0.6,
    "贱B": 0.85,
    "仆街": 0.75,
    "粉腸": 0.5,
    "冚家鏟": 0.8,
    "咸家鏟": 0.8,
    "咸家伶": 0.8,
    "冚家拎": 0.8,
    "躝癱": 0.7,
    "13点": 0.5,
    "十三点": 0.5,
    "烂逼": 0.85,
    "你全家": 0.5,
}
ZH_SEXUAL = {  # sexual/explicit; anatomical and everyday words score low
    "三级片": 0.7,
    "乳交": 0.85,
    "做爱": 0.6,
    "口交": 0.85,
    "肛交": 0.85,
    "性交": 0.6,
    "鸡奸": 0.8,
    "射精": 0.7,
    "打飞机": 0.5,
    "抽插": 0.75,
    "打炮": 0.6,
    "叫床": 0.7,
    "淫水": 0.85,
    "阴唇": 0.6,
    "阴茎": 0.4,
    "阴道": 0.35,
    "阴部": 0.45,
    "阴户": 0.6,
    "阴核": 0.6,
    "阴毛": 0.5,
    "肉棒": 0.75,
    "肉缝": 0.8,
    "肉壁": 0.75,
    "贝肉": 0.7,
    "龟头": 0.5,
    "湿透的内裤": 0.8,
    "小鸡鸡": 0.4,
    "鸡鸡": 0.5,
    "大鸡巴": 0.85,
    "小鸡巴": 0.85,
    "雞巴": 0.85,
    "鸡巴": 0.85,
    "鸡8": 0.8,
    "鸡八": 0.8,
    "鸡叭": 0.8,
    "鸡吧": 0.8,
    "鸡芭": 0.8,
    "几八": 0.7,
    "几叭": 0.7,
    "几巴": 0.7,
    "几芭": 0.7,
    "机巴": 0.7,
    "机八": 0.7,
    "懒叫": 0.7,
    "懒教": 0.6,
    "懒8": 0.7,
    "懒八": 0.7,
    "玉杵": 0.5,
    "密洞": 0.6,
    "后庭": 0.4,
    "卖淫": 0.7,
    "嫖娼": 0.7,
    "嫖客": 0.6,
    "招妓": 0.7,
    "妓女": 0.55,
    "妓院": 0.55,
    "色情": 0.5,
    "情色": 0.5,
    "淫秽": 0.6,
    "淫荡": 0.75,
    "淫乱": 0.75,
    "淫棍": 0.75,
    "浪叫": 0.75,
    "乳波臀浪": 0.75,
    "双峰微颤": 0.7,
    "巨乳": 0.65,
    "奶子": 0.65,
    "乳头": 0.4,
    "屁眼": 0.6,
    "想上你": 0.65,
    "扒光": 0.5,
    "军妓": 0.6,
    "卖B": 0.8,
    "卖比": 0.8,
    "小肉粒": 0.7,
    "肉棍子": 0.75,
    "阳具": 0.6,
    "性器": 0.45,
    "性爱": 0.6,
    "射你": 0.6,
    "屄": 0.7,
    "淫": 0.4,
    "小乳头": 0.5,
}
ZH_PROFANITY_DROP = {  # everyday words: virgin, sperm, egg cell, adult, passion, ancestors ...
    "处女",
    "精子",
    "卵子",
    "月经",
    "成人",
    "激情",
    "性",
    "奶",
    "乳",
    "卵",
    "奸",
    "妓",
    "姦",
    "幹",
    "爛",
    "賤",
    "逼",
    "13.",
    "九游",
    "私服",
    "老二",
    "祖宗",
    "肥西",
    "姣西",
    "鬼公",
    "口肯",
    "刚度",
    "姘头",
    "包皮",
    "花柳",
    "外阴",
    "乳房",
    "阳萎",
    "性无能",
    "靠背",
    "鳩",
    "柒",
    "尻",
    "老味",
    "老母",
    "你老闆",
    "笨實",
    "吹箫",
    "放荡",
    "你娘",
    "娘的",
    "大卵子",
    "小卵子",
    "大卵泡",
    "小卵泡",
    "淫西",
    "奶奶的熊",
    "妈妈的",
    "日批",
}
ZH_VIOLENCE = {"强奸": 0.6, "强奸你": 0.9, "轮奸": 0.7, "插死你": 0.75, "干死你": 0.7}
ZH_DRUGS = {"迷药": 0.7}
# Everything else in zh.txt: harassment/profanity at 0.75.


def _write(
    path: Path,
    label: str,
    terms: dict[str, float],
    note: str,
    exclude: dict[str, list[str]] | None = None,
) -> None:
    lines = [
        f"# {note}",
        "# Derived from LDNOOBW (CC BY 4.0); generated by scripts/build_lexicons.py: do not edit.",
        f"# label: {label}",
    ]
    for term in sorted(terms):
        excl = "".join(f" ! {x}" for x in (exclude or {}).get(term, []))
        lines.append(f"{term}{excl}\t{terms[term]:.2f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(data: Path) -> None:
    src = data / SET / "lists"
    en_terms = [t.strip() for t in (src / "en.txt").read_text(encoding="utf-8").splitlines()]
    zh_terms = [t.strip() for t in (src / "zh.txt").read_text(encoding="utf-8").splitlines()]
    en_terms = [t for t in dict.fromkeys(en_terms) if t]
    zh_terms = [t for t in dict.fromkeys(zh_terms) if t]

    named = [
        EN_SLURS,
        EN_EXTREMISM,
        EN_PROFANITY,
        EN_INSULT,
        EN_SUGGESTIVE,
        EN_MINORS,
        EN_VIOLENCE,
        EN_SPAM,
    ]
    explicit: dict[str, float] = {}
    for term in en_terms:
        if term in EN_DROP or any(term in d for d in named):
            continue
        explicit[term] = 0.8
    for d in named:
        missing = [t for t in d if t not in en_terms and t not in {"fetish"}]
        if missing:
            raise SystemExit(f"terms not in the English source list: {missing}")
    (OUT / "en").mkdir(parents=True, exist_ok=True)
    (OUT / "zh").mkdir(parents=True, exist_ok=True)
    en = OUT / "en"
    _write(en / "ldnoobw-slurs.txt", "hate/slur", EN_SLURS, "Slurs")
    _write(en / "ldnoobw-extremism.txt", "extremism/content", EN_EXTREMISM, "Extremist slogans")
    _write(en / "ldnoobw-profanity.txt", "harassment/profanity", EN_PROFANITY, "Profanity")
    _write(en / "ldnoobw-insults.txt", "harassment/insult", EN_INSULT, "Insults")
    _write(
        en / "ldnoobw-suggestive.txt",
        "sexual/suggestive",
        EN_SUGGESTIVE,
        "Suggestive and anatomical terms",
        EN_EXCLUDE,
    )
    _write(
        en / "ldnoobw-explicit.txt",
        "sexual/explicit",
        {**explicit, **EN_MINORS},
        "Explicit sexual terms",
        EN_EXCLUDE,
    )
    _write(en / "ldnoobw-violence.txt", "violence/threat", EN_VIOLENCE, "Sexual violence, murder")
    _write(en / "ldnoobw-spam.txt", "spam/ad", EN_SPAM, "Spam products")

    zh_named = [ZH_INSULT, ZH_SEXUAL, ZH_VIOLENCE, ZH_DRUGS]
    for d in zh_named:
        missing = [t for t in d if t not in zh_terms]
        if missing:
            raise SystemExit(f"terms not in the Chinese source list: {missing}")
    profanity = {
        t: 0.75
        for t in zh_terms
        if t not in ZH_PROFANITY_DROP and not any(t in d for d in zh_named)
    }
    zh = OUT / "zh"
    _write(zh / "ldnoobw-insults.txt", "harassment/insult", ZH_INSULT, "辱骂 Insults")
    _write(zh / "ldnoobw-profanity.txt", "harassment/profanity", profanity, "粗口 Profanity")
    _write(zh / "ldnoobw-explicit.txt", "sexual/explicit", ZH_SEXUAL, "色情 Sexual terms")
    _write(zh / "ldnoobw-violence.txt", "violence/threat", ZH_VIOLENCE, "暴力 Violence")
    _write(zh / "ldnoobw-drugs.txt", "illicit/drugs", ZH_DRUGS, "毒品 Drugs")
    counts = {
        p.relative_to(OUT).as_posix(): sum(
            1 for line in p.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"
        )
        for p in sorted(OUT.glob("*/ldnoobw-*.txt"))
    }
    for name, count in counts.items():
        print(f"{count:5d}  {name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    build(parser.parse_args().data)
