"""Properties of the pure-Python tokenizers on generated text, with the `tokenizers` library as the oracle.

The strongest property is the first: for any text, the ids are the library's, id for id. The only
characters left out are the few the two sides classify differently because their Unicode tables are
different versions (see `Pair.unicode_versions_differ`).
"""

import unicodedata
from functools import cached_property

import pytest
import tokenizers as reference
from hypothesis import assume, given
from hypothesis import strategies as st

from quire.tokenizers import BYTE_TO_CHAR, Tokenizer

MODELS = ["all-minilm-l6-v2", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"]
# Characters that exercise the rules: whitespace of every kind, controls, accents and combining marks,
# case with special mappings, CJK, emoji with joiners and modifiers, digits of other scripts, quotes.
AWKWARD = (" \t\n\r\x0b\x0c\x1c\x85\xa0\u1680\u2028\u3000\u200b\u200d\ufeff\x00\x04\x07\x7f\ufffd\ue000\ufdd0"
           "'’\".,!?…-_#$%&*()[]{}<>|\\/e\u0301\u0308ñÅßİIıΣσς東京語한국カナ😀👍🏽🇺🇸❤️٣½²١0123456789")
WORDS = ["the", "The", "THE", "running", "unbelievable", "antidisestablishmentarianism", "don't", "it's", "I'm",
         "we've", "they're", "you'll", "she'd", "Café", "naïve", "ΟΔΟΣ", "日本語", "北京", "한국어", "Россия", "مرحبا",
         "x" * 101, "a" * 150, "http://example.org/a?b=c", "3.14159", "1,000,000", "'s", "''"]
SPECIALS = ["[CLS]", "[SEP]", "[UNK]", "[MASK]", "[PAD]", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<file_sep>"]
UNASSIGNED = "\ufdd0"  # a noncharacter: unassigned in every version of Unicode

# Text: runs of any characters, of awkward ones, words, special tokens and whitespace, mixed.
any_text = st.text(st.characters(codec="utf-8"), max_size=40)  # all of Unicode but lone surrogates
awkward_text = st.text(st.sampled_from(AWKWARD), max_size=20)
words = st.lists(st.sampled_from(WORDS), max_size=8).map(" ".join)
latin_words = st.lists(st.text("abcdefghijklmnopqrstuvwxyzABCDEÉ'-", min_size=1, max_size=14), max_size=8).map(" ".join)
texts = st.lists(st.one_of(any_text, awkward_text, words, latin_words, st.sampled_from(SPECIALS),
                           st.sampled_from([" ", "  ", "\n\n", " \t ", "\u3000"])), max_size=8).map("".join)
# Long enough for truncation to the embedding model's 256-token window.
long_texts = st.tuples(texts, st.integers(1, 80)).map(lambda repeated: repeated[0] * repeated[1])


class Pair:
    """Ours and the library's tokenizer from one model's tokenizer.json."""

    def __init__(self, model: str, path: str):
        self.model = model
        self.ours, self.ref = Tokenizer.from_file(path), reference.Tokenizer.from_file(path)
        self.untruncated = reference.Tokenizer.from_file(path)
        self.untruncated.no_truncation()
        self.drifting: dict[str, bool] = {}

    def __repr__(self) -> str:  # what a falsifying example shows: not the whole vocabulary
        return f"Pair({self.model!r})"

    def comparable(self, text: str) -> bool:
        """No character of `text` is one the two sides see differently because of Unicode versions."""
        for ch in set(text):
            if ch not in self.drifting:
                contexts = (ch, f"a{ch}b", f" {ch}1", f"A{ch}")
                self.drifting[ch] = (any(self.ours.encode(t) != self.ref.encode(t).ids for t in contexts)
                                     and self.unicode_versions_differ(ch))
            if self.drifting[ch]:
                return False
        return True

    def unicode_versions_differ(self, ch: str) -> bool:
        """Whether the library may see `ch` differently from Python only because of their Unicode versions.

        The library's Rust crates are older than Python's tables for categories, and newer for case
        and for the pre-tokenizer's regex classes. So: a character assigned or recategorised since
        Unicode 3.2 (the old tables may not know it), or one Python does not know yet that the
        library treats unlike a code point unassigned in every version (its newer tables know it).
        """
        if unicodedata.category(ch) == "Cn":
            return self._reference_view(ch) != self._unassigned_view
        return unicodedata.ucd_3_2_0.category(ch) != unicodedata.category(ch)

    @cached_property
    def _unassigned_view(self) -> list:
        return self._reference_view(UNASSIGNED)

    def _reference_view(self, ch: str) -> list:
        """Whether the library's normaliser leaves `ch` as it is, and where its pre-tokenizer cuts, in context."""
        view = []
        for text in (f"a{ch}b", f" {ch}1", f"A{ch}"):
            normalized = self.ref.normalizer.normalize_str(text) if self.ref.normalizer else text
            view.append((normalized == text, [span for _, span in self.ref.pre_tokenizer.pre_tokenize_str(normalized)]))
        return view


@pytest.fixture(scope="module")
def pairs(built_models) -> dict[str, Pair]:
    return {model: Pair(model, str(built_models[model] / "tokenizer.json")) for model in MODELS}


@pytest.fixture(scope="module", params=MODELS)
def model(request) -> str:
    return request.param


@given(text=st.one_of(texts, long_texts))
def test_ids_are_the_reference_ids(pairs, model, text):
    pair = pairs[model]
    assume(pair.comparable(text))
    assert pair.ours.encode(text) == pair.ref.encode(text).ids


@given(text=st.one_of(texts, long_texts))
def test_count_is_the_untruncated_length_without_specials(pairs, model, text):
    pair = pairs[model]
    assume(pair.comparable(text))
    count = pair.ours.count(text)
    assert count == len(pair.ours.encode(text, add_special_tokens=False))
    assert count == len(pair.untruncated.encode(text, add_special_tokens=False).ids)


@given(text=texts, skip_special_tokens=st.booleans())
def test_decode_is_the_reference_decode(pairs, model, text, skip_special_tokens):
    pair = pairs[model]
    ids = pair.ref.encode(text).ids
    assert pair.ours.decode(ids, skip_special_tokens) == pair.ref.decode(ids, skip_special_tokens=skip_special_tokens)


@given(text=texts)
def test_byte_level_bpe_round_trips_text(pairs, text):
    """Lossless, but for the few byte values SmolLM2's vocabulary lacks: those are dropped."""
    ours = pairs["smollm2-135m-instruct"].ours
    kept = bytes(b for b in text.encode() if BYTE_TO_CHAR[b] in ours.vocab).decode("utf-8", "replace")
    assert ours.decode(ours.encode(text), skip_special_tokens=False) == kept


@given(text=texts)
def test_wordpiece_round_trips_the_normalised_words(pairs, text):
    """Without [UNK], decoding gives back the normalised text (lower case, no accents) but for spacing."""
    ours = pairs["all-minilm-l6-v2"].ours
    assume(not any(special in text for special in SPECIALS))
    ids = ours.encode(text)
    assume(ours.token_id("[UNK]") not in ids)
    assert "".join(ours.decode(ids).split()) == "".join(ours.normalize(text).split())


@given(text=st.one_of(any_text, awkward_text, long_texts))
def test_any_text_encodes_counts_and_decodes(pairs, model, text):
    """No exception on any text, and encode is count tokens between the specials, cut to the window."""
    ours = pairs[model].ours
    ids = ours.encode(text)
    specials = len(ours.prefix_ids) + len(ours.suffix_ids)
    window = ours.max_length - specials if ours.max_length else len(ids)
    assert len(ids) == specials + min(ours.count(text), window)
    assert isinstance(ours.decode(ids, skip_special_tokens=False), str)
