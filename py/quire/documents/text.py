"""Plain text, and the encoding detection Markdown and HTML share.

Detection order: a byte-order mark; UTF-16 without one, from where its NUL bytes fall; ISO-2022-JP
(7-bit, so only its escape sequences tell it apart from ASCII); strict UTF-8; the legacy CJK
encodings, by how much of each decoding is common text in that encoding's language (more of it
when the bytes are shaped like Western accented letters); cp1252; latin-1.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from . import Document, DocumentBuilder, Limits

BOMS = [(codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),  # before UTF-16: they share a prefix
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]

# A few hundred of the most frequent characters of each language. Text decoded with the right
# encoding is mostly made of them; a wrong decoding yields characters scattered over the whole set.
HANZI = ("的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后"
         "作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因"
         "只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应"
         "战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿"
         "原东声提立及比员解水名真论处走义各入几口认条平系气题活更别打女变四神总何电数安少报才结反受目太量"
         "再感建务做接必场件计管期市直资命山金指许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放"
         "强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让"
         "识候带导争运笑飞风步改收根干造言联持组每车亲极林服快办议往元证近失转夫令准布始怎呢存未远叫台单影"
         "具字爱击流备兵连调深商算质团集百需价花华城石级离况请技际约示复病息究线似官火断精满支视消越器容照"
         "须九增研写称八功吗包片史委乎查轻易早曾除农找装广显吧标谈吃图念六引历首医局突专费号尽另周较注语仅"
         "這個們來為國說時會對過發後裡麼經動現當沒點開從實軍無與長機關將兩間問體產見變總電數報結場義處論師"
         "觀飛風導爭運識聯組車親極務級員應戰頭門東聲樣記讓質團離況請區隊醫術藝號話認條傳雖業歷專華單達學習"
         "買賣書讀寫氣張萬幾錢題藥聽覺據樂歡愛邊農歲態難馬魚黨龍灣夠麗給統線設許試該語選還進際陽願類飯館")
KANJI = ("日本人年大中出見月分行生上国会子事時前東自者間新社私思今何言入下後手部物方場合同先作長高明気体名家性化度"
         "動理数外内全主水電車道町市田川学校週円駅発来図読売県区広楽実関変当話語書食休友花雨店聞近早朝夜午寺京都"
         "乗着帰買写真音歌映画天")
HANGUL = ("이다는의에하고을를가지기서한으로사리도자어나대시정아인수일그게해있부여들주스라전적상동없것만제구보"
          "원말요되성면장생과우와내소국방학마니분세등조오개연무경공실신모관문위비화계중식했은습까데었던께며"
          "죠네야터날씨좋친산책갔저녁음먹았년월간람때더또및통안알많같후처음번곳집밥물길손눈발몸맛글영교회")
CJK_MARKS = "".join(map(chr, range(0x3000, 0x3040))) + "".join(map(chr, range(0xFF01, 0xFF61)))
KANA = "".join(map(chr, range(0x3041, 0x3100)))
CHINESE, JAPANESE, KOREAN = (frozenset(s + CJK_MARKS) for s in (HANZI, KANA + KANJI, HANGUL))
# Standard names first; the Windows supersets (cp949, cp932, cp950) win only where they decode more.
CANDIDATES = {"gb18030": CHINESE, "big5": CHINESE, "shift_jis": JAPANESE, "euc_jp": JAPANESE, "euc_kr": KOREAN,
              "cp949": KOREAN, "cp932": JAPANESE, "cp950": CHINESE}
SAMPLE = 1 << 16  # bytes scored per candidate: enough to decide, cheap for big files
LONE_HIGH_BYTE = re.compile(rb"(?<![\x80-\xff])[\x80-\xff](?![\x80-\xff])")
HIGH_BYTE_RUN = re.compile(rb"[\x80-\xff]{3,}")


def decode_text(data: bytes, declared: str | None = None) -> str:
    """`data` as text with \\n newlines; `declared` (an HTML meta charset) is tried after any BOM."""
    return re.sub(r"\r\n?", "\n", _decode(data, declared))


def _decode(data: bytes, declared: str | None) -> str:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    # Each of these either decodes strictly or is ruled out; only then is there anything to weigh.
    exact = [declared, _utf16_without_bom(data), "iso2022_jp" if b"\x1b$" in data else None, "utf-8"]
    for encoding in filter(None, exact):
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            pass
    sample = data[:SAMPLE]
    scores = {enc: _plausibility(enc, sample, common) for enc, common in CANDIDATES.items()}
    best = max(scores, key=scores.get)
    runner_up = max((v for k, v in scores.items() if CANDIDATES[k] is not CANDIDATES[best]), default=-1.0)
    # Common characters, or an unusual text that only one language's encodings can read at all.
    plausible = scores[best] >= 0.3 or (scores[best] >= 0.1 and scores[best] - runner_up >= 0.2)
    if plausible and _western(sample):  # then only a long reading of common characters is CJK
        plausible = scores[best] >= 0.9 and sum(ch >= "\x80" for ch in sample.decode(best, "ignore")) >= 10
    if plausible:
        return data.decode(best, "replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # cp1252 leaves five bytes undefined; latin-1 takes anything
        return data.decode("latin-1")


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 LE/BE when NULs fill one byte of most pairs (mostly-Latin text) and not the other."""
    head = data[:SAMPLE]
    pairs = len(head) // 2
    even, odd = head[0::2].count(0), head[1::2].count(0)
    if pairs and odd > 0.3 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if pairs and even > 0.3 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def _western(sample: bytes) -> bool:
    """Whether the non-ASCII bytes are shaped like Western accented letters rather than CJK characters.

    An accented letter is one byte amid ASCII ("é" in "café"); CJK text runs its two-byte characters
    together. A CJK reading of Western text pairs each accent with the letter after it ("stratégie" in
    gb18030 holds 間, a common character), so a few lucky pairs must not outvote the shape of the
    bytes: Western when bytes standing alone outnumber those in runs of three or more (pairs could
    be either).
    """
    alone = len(LONE_HIGH_BYTE.findall(sample))
    return alone > sum(map(len, HIGH_BYTE_RUN.findall(sample)))


def _plausibility(encoding: str, sample: bytes, common: frozenset[str]) -> float:
    """Share of the non-ASCII characters that are common in the language; -1 if it does not decode."""
    try:
        # Incremental, so a character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder(encoding)("strict").decode(sample)
    except (UnicodeDecodeError, LookupError):  # LookupError: a runtime built without CJK codecs
        return -1.0
    good = bad = total = 0
    for ch in text:
        if ch >= "\x80":
            total += 1
            good += ch in common
            bad += unicodedata.category(ch) in ("Cc", "Co", "Cn")  # controls, private use, unassigned
    return (good - 4 * bad) / total if total else -1.0


def looks_like_text(head: bytes) -> bool:
    """False for binary data: NULs that are not UTF-16/32, or many control bytes."""
    if any(head.startswith(bom) for bom, _ in BOMS) or _utf16_without_bom(head):
        return True
    if b"\0" in head:
        return False
    controls = sum(head.count(b) for b in [*range(1, 9), 11, *range(14, 27), *range(28, 32), 127])
    return controls <= 0.02 * len(head)


def parse(name: str, data: bytes, limits: Limits) -> Document:
    text = decode_text(data)
    builder = DocumentBuilder(name, "text", limits)
    # Paragraphs end at blank lines, including lines of spaces; inside one the text stays as written.
    for paragraph in re.split(r"\n\s*\n", text):
        builder.add(paragraph)
    return builder.build()
