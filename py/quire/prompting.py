"""Retrieved passages + question -> the generator's prompt, in the model's own chat template.

Sources are numbered and fenced as data, inside the user's turn, with the instruction outside the
fences; anything in a document that looks like a fence or like one of the model's control tokens is
defused before it reaches the tokenizer, so a document cannot open a turn of its own. With
`focused`, each passage is cut to the sentences that best answer the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jinja2.sandbox import ImmutableSandboxedEnvironment

from .tokenizers import Tokenizer

# One short instruction before the sources, the question after them. Measured with `quire eval` on
# XQuAD dev (docs/quality.md, 96 questions): Qwen2.5-Coder-0.5B's answers held the gold answer 0.70
# of the time with this instruction, 0.635 without its second sentence (which it answered with
# "According to the sources, ..."), 0.55 when asked for the answer only (shorter, F1 0.37 vs 0.26).
# Asking it to cite ("[1]") made it answer "[1]" alone; a worked example of a one-phrase answer cut
# it to 0.25; the question both before and after the sources cost ten points. Citations are found in
# code (quire.citations), so the model is not asked for them.
INSTRUCTIONS = "Answer briefly from the sources. Start with the answer itself."

_FENCE = re.compile(r"<(/?)(source)", re.IGNORECASE)


@dataclass(frozen=True)
class PromptSource:
    number: int
    title: str
    text: str


@dataclass
class Prompt:
    text: str
    ids: list[int]
    sources: list[PromptSource] = field(default_factory=list)


class ChatFormat:
    """A model's chat template and control tokens, as its registry record gives them."""

    def __init__(self, template: str, tokenizer: Tokenizer, bos: str = "", eos: str = ""):
        env = ImmutableSandboxedEnvironment(trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
        self.template = env.from_string(template)
        self.tokenizer = tokenizer
        self.bos, self.eos = bos, eos
        self.control = sorted({t for t in tokenizer.added.ids if len(t) > 1}, key=len, reverse=True)

    def defuse(self, text: str) -> str:
        """Text from a document or a user, unable to open a turn or close a source fence."""
        for token in self.control:
            if token in text:
                text = text.replace(token, token[0] + "\u200b" + token[1:])
        return _FENCE.sub("<\u200b\\1\\2", text)

    def render(self, messages: list[dict[str, str]]) -> str:
        return self.template.render(messages=messages, add_generation_prompt=True,
                                    bos_token=self.bos, eos_token=self.eos)


def _fenced(source: PromptSource) -> str:
    return f'<source id="{source.number}" title="{source.title}">\n{source.text}\n</source>'


def _message(question: str, sources: list[PromptSource]) -> str:
    fenced = "\n\n".join(_fenced(s) for s in sources)
    return f"{INSTRUCTIONS}\n\n{fenced}\n\nQuestion: {question}"


def focused(passages: list[PromptSource], sentences: list[tuple[int, str]], scores: list[float],
            keep: int) -> list[PromptSource]:
    """The passages cut to the `keep` sentences that best answer the question, each with the sentence
    before it (which often names what "it" or "he" is), in document order; passages ordered by their
    best sentence, those without one dropped. `sentences`: (passage number, text) in passage order.
    """
    best = sorted(range(len(sentences)), key=lambda i: -scores[i])[:keep]
    chosen = sorted(set(best) | {i - 1 for i in best if i and sentences[i - 1][0] == sentences[i][0]})
    rank: dict[int, int] = {}
    for r, i in enumerate(best):
        rank.setdefault(sentences[i][0], r)
    out = []
    for passage in sorted((p for p in passages if p.number in rank), key=lambda p: rank[p.number]):
        text, previous = "", None
        for i in (i for i in chosen if sentences[i][0] == passage.number):
            gap = "" if previous is None else " " if i == previous + 1 else " … "
            text, previous = text + gap + sentences[i][1], i
        out.append(PromptSource(passage.number, passage.title, text))
    return out


def build_prompt(chat: ChatFormat, question: str, passages: list[PromptSource], budget: int) -> Prompt:
    """Fit as many of `passages` (best first, each keeping its number) as `budget` tokens allow.

    A passage that does not fit whole is left out rather than cut mid-thought, except the first,
    which is cut to its leading characters so that there is always something to answer from.
    """
    question = chat.defuse(" ".join(question.split()))
    sources = [PromptSource(p.number, chat.defuse(p.title.replace('"', "'")), chat.defuse(p.text)) for p in passages]

    def encode(chosen: list[PromptSource]) -> tuple[str, list[int]]:
        text = chat.render([{"role": "user", "content": _message(question, chosen)}])
        return text, chat.tokenizer.encode(text, add_special_tokens=False)

    chosen: list[PromptSource] = []
    text, ids = encode(chosen)
    for source in sources:
        trial_text, trial_ids = encode(chosen + [source])
        if len(trial_ids) <= budget:
            chosen, text, ids = chosen + [source], trial_text, trial_ids
        elif not chosen:
            room = budget - len(ids) - 16  # about the tokens left for the first passage's text
            cut = source.text
            while cut and chat.tokenizer.count(cut) > room:
                cut = cut[: int(len(cut) * 0.8)]
            while cut:  # the fence and title cost a few tokens more than `room` allows for
                trial_text, trial_ids = encode([PromptSource(source.number, source.title, cut)])
                if len(trial_ids) <= budget:
                    chosen, text, ids = [PromptSource(source.number, source.title, cut)], trial_text, trial_ids
                    break
                cut = cut[: int(len(cut) * 0.9)]
        else:
            break
    return Prompt(text, ids, chosen)
