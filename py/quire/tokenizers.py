"""Tokenizers in pure Python, loaded from a model's `tokenizer.json`.

Two families cover Quire's models: WordPiece with BERT normalisation (the embedding model) and
byte-level BPE (the generators). Each reproduces the `tokenizers` library's ids exactly for the
configurations those files use; anything else is refused when loading, not silently approximated.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Callable


class TokenizerError(ValueError):
    """The tokenizer.json uses a component this module does not implement."""


# Unicode's White_Space property (what the Rust regex engines mean by \s), not str.isspace(),
# which also counts U+001C..U+001F.
WHITESPACE = frozenset(map(chr, [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                                 0x2028, 0x2029, 0x202F, 0x205F, 0x3000]))


def _category(ch: str) -> str:
    return unicodedata.category(ch)


def _is_letter(ch: str) -> bool:
    return _category(ch)[0] == "L"


def _is_number(ch: str) -> bool:
    return _category(ch)[0] == "N"


class _AddedTokens:
    """Splits raw text around added tokens (specials such as <|im_start|>), longest match first."""

    def __init__(self, added: list[dict]):
        self.ids = {a["content"]: a["id"] for a in added}
        self.by_first: dict[str, list[str]] = {}
        for content in sorted(self.ids, key=len, reverse=True):
            self.by_first.setdefault(content[0], []).append(content)

    def split(self, text: str) -> list[tuple[str, int | None]]:
        """(piece, id) pairs: id is set for an added token, None for text to tokenize normally."""
        out, start, i = [], 0, 0
        while i < len(text):
            match = next((c for c in self.by_first.get(text[i], ()) if text.startswith(c, i)), None)
            if match is None:
                i += 1
                continue
            if start < i:
                out.append((text[start:i], None))
            out.append((match, self.ids[match]))
            i += len(match)
            start = i
        if start < len(text):
            out.append((text[start:], None))
        return out


class Tokenizer:
    """encode(text) -> ids and decode(ids) -> text, as the model's tokenizer.json defines them."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.added = _AddedTokens(spec.get("added_tokens", []))
        self.vocab: dict[str, int] = spec["model"]["vocab"]
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.added.ids.items()})
        self.special_ids = {a["id"] for a in spec.get("added_tokens", []) if a.get("special")}
        truncation = spec.get("truncation") or {}
        self.max_length: int | None = truncation.get("max_length")
        post = spec.get("post_processor") or {}
        self.prefix_ids, self.suffix_ids = self._template(post)

    @staticmethod
    def _template(post: dict) -> tuple[list[int], list[int]]:
        if not post:
            return [], []
        if post.get("type") != "TemplateProcessing":
            raise TokenizerError(f"unsupported post_processor {post.get('type')}")
        before, after, seen = [], [], False
        for item in post["single"]:
            if "Sequence" in item:
                seen = True
            else:
                ids = post["special_tokens"][item["SpecialToken"]["id"]]["ids"]
                (after if seen else before).extend(ids)
        return before, after

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        """From the text of a tokenizer.json (the browser fetches it; there is no file to open)."""
        spec = json.loads(text)
        kind = spec["model"]["type"]
        if kind == "WordPiece":
            return WordPieceTokenizer(spec)
        if kind == "BPE":
            return ByteLevelBPETokenizer(spec)
        raise TokenizerError(f"unsupported tokenizer model {kind}")

    def _encode_text(self, text: str) -> list[int]:
        raise NotImplementedError

    def encode(self, text: str, add_special_tokens: bool = True, truncate: bool = True) -> list[int]:
        ids: list[int] = []
        for piece, added_id in self.added.split(text):
            ids.extend([added_id] if added_id is not None else self._encode_text(piece))
        if not add_special_tokens:
            return ids
        if truncate and self.max_length is not None:
            ids = ids[: max(0, self.max_length - len(self.prefix_ids) - len(self.suffix_ids))]
        return self.prefix_ids + ids + self.suffix_ids

    def token_id(self, token: str) -> int:
        """The id of one whole token, such as a special token named in the registry."""
        found = self.added.ids.get(token, self.vocab.get(token))
        if found is None:
            raise TokenizerError(f"{token!r} is not a token of this tokenizer")
        return found

    def count(self, text: str) -> int:
        """Tokens `text` takes, without specials or truncation (what budgets are measured in)."""
        return len(self.encode(text, add_special_tokens=False))


# --- WordPiece (BERT) ---------------------------------------------------------------------------

def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_bert_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return _category(ch)[0] == "P"


# The WordPiece decoder's cleanup: no space before punctuation or inside English contractions.
_CLEANUP = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
            (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


class WordPieceTokenizer(Tokenizer):
    def __init__(self, spec: dict):
        super().__init__(spec)
        norm, pre, model = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}, spec["model"]
        if norm.get("type") != "BertNormalizer" or pre.get("type") != "BertPreTokenizer":
            raise TokenizerError("WordPiece is supported with BertNormalizer and BertPreTokenizer only")
        self.lowercase = norm.get("lowercase", True)
        strip = norm.get("strip_accents")
        self.strip_accents = self.lowercase if strip is None else strip
        self.clean_text = norm.get("clean_text", True)
        self.chinese = norm.get("handle_chinese_chars", True)
        self.unk = self.vocab[model["unk_token"]]
        self.prefix = model.get("continuing_subword_prefix", "##")
        self.max_chars = model.get("max_input_chars_per_word", 100)
        self._word = lru_cache(maxsize=65536)(self._word_ids)

    def normalize(self, text: str) -> str:
        out = []
        for ch in text:
            cp = ord(ch)
            if self.clean_text:
                # Controls, formats and private use go; unassigned code points stay, as in `tokenizers`.
                if cp == 0 or cp == 0xFFFD or (_category(ch) in ("Cc", "Cf", "Co") and ch not in "\t\n\r"):
                    continue
                if ch in WHITESPACE:
                    ch = " "
            if self.chinese and _is_cjk(cp):
                out.append(f" {ch} ")
            else:
                out.append(ch)
        text = "".join(out)
        if self.strip_accents:
            text = "".join(c for c in unicodedata.normalize("NFD", text) if _category(c) != "Mn")
        if self.lowercase:
            # Character by character, as `tokenizers` does: str.lower() alone makes a word-final Σ a ς.
            text = text.replace("Σ", "σ").lower()
        return text

    @staticmethod
    def pre_tokenize(text: str) -> list[str]:
        words, current = [], []
        for ch in text:
            if ch in WHITESPACE:
                if current:
                    words.append("".join(current))
                    current = []
            elif _is_bert_punctuation(ch):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(ch)
            else:
                current.append(ch)
        if current:
            words.append("".join(current))
        return words

    def _word_ids(self, word: str) -> tuple[int, ...]:
        if len(word) > self.max_chars:
            return (self.unk,)
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return (self.unk,)
            start = end
        return tuple(ids)

    def _encode_text(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in self.pre_tokenize(self.normalize(text)):
            ids.extend(self._word(word))
        return ids

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        pieces: list[str] = []
        for i in ids:
            if skip_special_tokens and i in self.special_ids:
                continue
            token = self.id_to_token[i]
            if pieces:
                token = token[len(self.prefix):] if token.startswith(self.prefix) else " " + token
            # The cleanup applies to each token on its own, as in `tokenizers`: "it ' s" stays apart.
            for before, after in _CLEANUP:
                token = token.replace(before, after)
            pieces.append(token)
        return "".join(pieces)


# --- byte-level BPE (GPT-2 family) ------------------------------------------------------------------

def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping, extra = {}, 0
    for b in range(256):
        if b in keep:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


BYTE_TO_CHAR = _bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}
_CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")


def _run(text: str, j: int, test) -> int:
    """Where the run of characters passing `test` that starts at `j` ends."""
    while j < len(text) and test(text[j]):
        j += 1
    return j


def _is_other(ch: str) -> bool:
    """Neither whitespace, a letter nor a number: the regexes' [^\\s\\p{L}\\p{N}]."""
    return ch not in WHITESPACE and not _is_letter(ch) and not _is_number(ch)


def gpt2_split(text: str) -> list[str]:
    """The GPT-2 pre-tokenizer regex, written out by hand because Python's `re` lacks \\p{L}:
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    """
    pieces, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            suffix = next((s for s in _CONTRACTIONS if text.startswith(s, i + 1)), None)
            if suffix:
                pieces.append(text[i:i + 1 + len(suffix)])
                i += 1 + len(suffix)
                continue
        start = i + 1 if ch == " " and i + 1 < n else i
        head = text[start] if start < n else ""
        end = None
        for test in (_is_letter, _is_number, _is_other):
            if head and test(head):
                end = _run(text, start, test)
                break
        if end is not None:
            pieces.append(text[i:end])
            i = end
            continue
        # Whitespace: take the run, but leave its last character to prefix a following word.
        end = _run(text, i, lambda c: c in WHITESPACE)
        if end < n and end - i > 1:
            end -= 1
        pieces.append(text[i:end])
        i = end
    return pieces


def gpt2_split_digits(text: str) -> list[str]:
    """Every digit on its own, GPT-2's regex between them (SmolLM2's pre-tokenizer)."""
    pieces, start = [], 0
    for i, ch in enumerate(text):
        if _is_number(ch):
            if start < i:
                pieces += gpt2_split(text[start:i])
            pieces.append(ch)
            start = i + 1
    if start < len(text):
        pieces += gpt2_split(text[start:])
    return pieces


# The Qwen2 (and Llama 3) pre-tokenizer pattern, as tokenizer.json spells it.
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def qwen2_split(text: str) -> list[str]:
    """QWEN2_PATTERN written out by hand, each alternative tried in order at each position:
    a contraction (any case); letters, with one leading character that is not a line break, letter
    or number; one digit; an optional space and a run of other characters, with the line breaks
    after it; whitespace up to its last line break; whitespace but its last character; whitespace.
    """
    pieces, i, n = [], 0, len(text)
    line_break = lambda c: c in "\r\n"  # noqa: E731
    while i < n:
        ch = text[i]
        if ch == "'":
            low = text[i + 1:i + 3].lower()
            suffix = next((s for s in _CONTRACTIONS if low.startswith(s)), None)
            if suffix:
                pieces.append(text[i:i + 1 + len(suffix)])
                i += 1 + len(suffix)
                continue
        if _is_letter(ch):
            end = _run(text, i, _is_letter)
        elif not line_break(ch) and not _is_number(ch) and i + 1 < n and _is_letter(text[i + 1]):
            end = _run(text, i + 1, _is_letter)
        elif _is_number(ch):
            end = i + 1
        elif _is_other(ch) or (ch == " " and i + 1 < n and _is_other(text[i + 1])):
            end = _run(text, _run(text, i + 1, _is_other), line_break)
        else:  # whitespace
            end = _run(text, i, lambda c: c in WHITESPACE)
            breaks = [j for j in range(i, end) if line_break(text[j])]
            if breaks:
                end = breaks[-1] + 1
            elif end < n and end - i > 1:
                end -= 1
        pieces.append(text[i:end])
        i = end
    return pieces


class ByteLevelBPETokenizer(Tokenizer):
    def __init__(self, spec: dict):
        super().__init__(spec)
        model = spec["model"]
        if spec.get("normalizer"):
            raise TokenizerError("byte-level BPE is supported without a normalizer only")
        if model.get("byte_fallback") or model.get("continuing_subword_prefix") or model.get("end_of_word_suffix") \
                or model.get("unk_token") is not None:
            raise TokenizerError("BPE options beyond plain byte-level are not supported")
        self._pieces = self._pre_tokenizer(spec.get("pre_tokenizer") or {})
        self.ignore_merges = model.get("ignore_merges", False)
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {pair: rank for rank, pair in enumerate(merges)}
        self._word = lru_cache(maxsize=65536)(self._bpe)

    @staticmethod
    def _pre_tokenizer(pre: dict) -> Callable[[str], list[str]]:
        """The function that splits text into words: GPT-2's regex (SmolLM2 splits digits first) or
        Qwen2's pattern (a Split step, then byte-level without its own regex)."""
        steps = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
        kinds = [s.get("type") for s in steps]
        byte_level = steps[-1]
        if kinds == ["Split", "ByteLevel"] and steps[0].get("pattern") == {"Regex": QWEN2_PATTERN} \
                and steps[0].get("behavior") == "Isolated" and not steps[0].get("invert") \
                and not byte_level.get("add_prefix_space") and not byte_level.get("use_regex", True):
            return qwen2_split
        if kinds not in (["ByteLevel"], ["Digits", "ByteLevel"]) or byte_level.get("add_prefix_space") \
                or not byte_level.get("use_regex", True) or (len(steps) == 2 and not steps[0].get("individual_digits")):
            raise TokenizerError(f"unsupported byte-level pre-tokenizer {kinds}")
        return gpt2_split_digits if kinds[0] == "Digits" else gpt2_split

    def _bpe(self, word: str) -> tuple[int, ...]:
        if self.ignore_merges and word in self.vocab:
            return (self.vocab[word],)
        # A byte missing from the vocabulary (SmolLM2 lacks a few control and never-used UTF-8 bytes) is
        # dropped before merging, as `tokenizers` does for a model without an unknown token.
        parts = [ch for ch in word if ch in self.vocab]
        while len(parts) > 1:
            best = min(((self.ranks.get(p), k) for k, p in enumerate(zip(parts, parts[1:]))
                        if p in self.ranks), default=None)
            if best is None:
                break
            k = best[1]
            parts[k:k + 2] = [parts[k] + parts[k + 1]]
        return tuple(self.vocab[p] for p in parts)

    def _encode_text(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece in self._pieces(text):
            ids.extend(self._word("".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))))
        return ids

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        out = bytearray()
        for i in ids:
            if skip_special_tokens and i in self.special_ids:
                continue
            token = self.id_to_token[i]
            if i in self.added.ids.values():
                out += token.encode("utf-8")
            else:
                out += bytes(CHAR_TO_BYTE[c] for c in token)
        return out.decode("utf-8", errors="replace")
