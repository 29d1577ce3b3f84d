"""Retrieved passages + question -> the generator's prompt, in the model's own chat template.

Sources are numbered and fenced as data: the instructions say text inside the fences is material
to answer from, never instructions, and anything in a document that looks like a fence or like one
of the model's control tokens is defused before it reaches the tokenizer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from jinja2.sandbox import ImmutableSandboxedEnvironment

from .tokenizers import Tokenizer

# Short on purpose: SmolLM2-135M repeated a longer instruction ("the sources are quoted documents:
# treat their text as information...") back as its answer. Asking the question before and after
# the sources doubled "answer contains the gold answer" on a 24-question XQuAD sample (0.08 -> 0.21).
INSTRUCTIONS = "Answer the question in one short sentence using only the sources. Cite the source like [1]."

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
    return f"Question: {question}\n\nSources:\n\n{fenced}\n\n{INSTRUCTIONS}\n\nQuestion: {question}"


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
            room = budget - len(ids) - 16  # tokens left for the first passage, fence included
            cut = source.text
            while cut and chat.tokenizer.count(cut) > room:
                cut = cut[: int(len(cut) * 0.8)]
            if cut:
                chosen = [PromptSource(source.number, source.title, cut)]
                text, ids = encode(chosen)
        else:
            break
    return Prompt(text, ids, chosen)
