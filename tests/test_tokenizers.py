"""Pure-Python tokenizers give the `tokenizers` library's ids, on real text and on awkward text."""

import json
from pathlib import Path

import pytest
import tokenizers as reference

from quire.tokenizers import ByteLevelBPETokenizer, Tokenizer, TokenizerError, WordPieceTokenizer, gpt2_split

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "xquad-dev" / "xquad.en.dev.json"

AWKWARD = [
    "", " ", "   ", "\n", "\n\n\n", "\t \t", "a\n\nb", "a   b", "a \n b", "trailing   ", "  leading",
    "Café naïve résumé façade Ångström", "e\u0301 combining", "ÀÉÎÕÜ àéîõü ß ẞ İstanbul",
    "你好，世界！这是一个测试。", "日本語のテキストとカタカナ ー", "한국어 텍스트입니다", "Россия и Україна", "مرحبا بالعالم",
    "Emoji: 😀👍🏽🇺🇸 and ❤️ 👨‍👩‍👧", "Numbers 12345 and 3.14159 and 1,000,000 ½ ² ٣",
    "Punctuation!!! ??? ... --- (parens) [brackets] {braces} «quotes» “curly” — dash",
    "I'm sure they'll say it's fine, don't you think? We've seen it. I'D SHOUT",
    "x''s ''quoted'' 's alone", "zero\u200bwidth and\u00a0nbsp and\u3000ideographic",
    "control\x00chars\x07and\ufffdreplacement\x1f", "supercalifragilisticexpialidocious" * 5,
    "a" * 150, "pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    "def f(x):\n    return x ** 2  # comment\n\n\n", "<|im_start|>user\nhi<|im_end|>\n", "[CLS] literal [SEP] [MASK]",
    "tab\tseparated\tvalues", "mixed 123abc456 a1b2c3", "URL https://example.org/a?b=c&d=e#f",
]


def xquad_texts() -> list[str]:
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    texts = []
    for article in data:
        texts.append(article["title"])
        for paragraph in article["paragraphs"]:
            texts.append(paragraph["context"])
            for qa in paragraph["qas"]:
                texts.append(qa["question"])
                texts += [a["text"] for a in qa["answers"]]
    return texts


@pytest.fixture(scope="module", params=["all-minilm-l6-v2", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"])
def pair(request, built_models):
    path = built_models[request.param] / "tokenizer.json"
    return Tokenizer.from_file(path), reference.Tokenizer.from_file(str(path))


def test_ids_match_on_all_of_xquad_dev(pair):
    ours, ref = pair
    texts = xquad_texts()
    assert len(texts) > 1000
    expected = [e.ids for e in ref.encode_batch(texts)]
    mismatched = [t for t, want in zip(texts, expected) if ours.encode(t) != want]
    assert mismatched == []


@pytest.mark.parametrize("text", AWKWARD)
def test_ids_match_on_awkward_text(pair, text):
    ours, ref = pair
    assert ours.encode(text) == ref.encode(text).ids


def test_embedding_tokenizer_truncates_to_its_window_with_specials(built_models):
    tok = Tokenizer.from_file(built_models["all-minilm-l6-v2"] / "tokenizer.json")
    assert isinstance(tok, WordPieceTokenizer)
    ids = tok.encode("word " * 400)
    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102
    assert tok.count("word " * 400) == 400


def test_generator_tokenizer_round_trips_text(built_models):
    tok = Tokenizer.from_file(built_models["smollm2-135m-instruct"] / "tokenizer.json")
    assert isinstance(tok, ByteLevelBPETokenizer)
    for text in AWKWARD:
        if "<|" not in text:
            assert tok.decode(tok.encode(text)) == text
    assert tok.encode("<|im_start|>user")[0] == 1


def test_gpt2_split_keeps_the_last_space_for_the_next_word():
    assert gpt2_split("a   b") == ["a", "  ", " b"]
    assert gpt2_split("x\n\ny") == ["x", "\n", "\n", "y"]
    assert gpt2_split("it's 3") == ["it", "'s", " 3"]


def test_unsupported_components_are_refused(built_models, tmp_path):
    spec = json.loads((built_models["smollm2-135m-instruct"] / "tokenizer.json").read_text())
    spec["normalizer"] = {"type": "NFKC"}
    with pytest.raises(TokenizerError, match="without a normalizer"):
        ByteLevelBPETokenizer(spec)
    spec["model"]["type"] = "Unigram"
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(TokenizerError, match="unsupported tokenizer model Unigram"):
        Tokenizer.from_file(tmp_path / "tokenizer.json")


@pytest.fixture(scope="module")
def minilm(built_models):
    path = built_models["all-minilm-l6-v2"] / "tokenizer.json"
    return Tokenizer.from_file(path), reference.Tokenizer.from_file(str(path))


@pytest.fixture(scope="module")
def smollm(built_models):
    path = built_models["smollm2-135m-instruct"] / "tokenizer.json"
    return Tokenizer.from_file(path), reference.Tokenizer.from_file(str(path))


def test_regression_unassigned_code_points_are_kept_not_dropped(minilm):
    ours, ref = minilm  # the library removes controls, formats and private use, not what is unassigned
    for text in ["\U0001e94c", "\ufdd0", "a\U0010fffeb"]:
        assert ours.encode(text) == ref.encode(text).ids


def test_regression_word_final_capital_sigma_lowercases_to_sigma_not_final_sigma(minilm):
    ours, ref = minilm
    assert ours.encode("ΟΔΟΣ") == ref.encode("ΟΔΟΣ").ids


def test_regression_wordpiece_decode_cleans_up_each_token_on_its_own(minilm):
    ours, ref = minilm
    ids = ref.encode("don't").ids
    assert ours.decode(ids) == ref.decode(ids) == "don ' t"


def test_regression_bytes_missing_from_the_bpe_vocabulary_are_dropped(smollm):
    ours, ref = smollm  # SmolLM2 has no token for the byte 0x16 nor for 0xF1, which leads U+40000
    for text in ["\x16", "\U00040000", "a\x16b"]:
        assert ours.encode(text) == ref.encode(text).ids
    assert ours.decode(ours.encode("a\x16b")) == "ab"
    # Dropping is what the library does only without an unknown token; with one, the file is refused.
    spec = json.loads(json.dumps(ours.spec))
    spec["model"]["unk_token"] = "<|endoftext|>"
    with pytest.raises(TokenizerError, match="beyond plain byte-level"):
        ByteLevelBPETokenizer(spec)
