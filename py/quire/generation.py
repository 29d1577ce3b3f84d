"""The decode loop: prompt ids -> streamed text, over a Generator with a KV cache.

Greedy or temperature/top-p sampling, a repetition penalty on the tokens generated so far (not on
the prompt: an answer should be free to copy its sources), and stops on the model's end tokens,
on stop strings, at a token limit, at the end of the context, or when the caller cancels.
Streaming holds back text that could still become a stop string or is half a UTF-8 character.
Tokens the answer is likely to copy from its sources are guessed from the prompt and checked
several per model run (speculative decoding); the text is the same as one token per run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Callable

from .prompting import ChatFormat
from .protocols import Generator
from .tokenizers import Tokenizer

CANDIDATES = 64  # top tokens per step the backend returns; penalties and sampling choose among them
# Guessing: the answer's last 3 tokens (else 2) are looked up in the prompt and the 4 tokens after
# them checked in one pass. Measured on XQuAD answers: one-token matches were wrong 8 times in 10
# and longer guesses rarely survive (answers are short), while each guessed token costs a run ~1/9
# of a one-token run in CPython; these settings gave the fewest model-milliseconds per token.
DRAFT = 4
DRAFT_NGRAMS = (3, 2)


@dataclass
class GenerationModel:
    name: str
    generator: Generator
    tokenizer: Tokenizer
    chat: ChatFormat
    stop_ids: set[int]  # the model's end-of-turn and end-of-text tokens

    @classmethod
    def from_facts(cls, model_id: str, facts: dict, tokenizer: Tokenizer, generator: Generator) -> GenerationModel:
        """From a registry record's id and facts (a ModelRecord in CPython, registry.json in the browser)."""
        chat = ChatFormat(facts["chat_template"], tokenizer, facts.get("bos", ""), facts.get("eos", ""))
        stop_ids = {tokenizer.token_id(t) for t in facts["stop_tokens"]}
        return cls(model_id, generator, tokenizer, chat, stop_ids)


@dataclass(frozen=True)
class Sampling:
    max_new_tokens: int = 96
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    repetition_penalty: float = 1.0  # > 1 discourages tokens already generated
    stop_strings: tuple[str, ...] = ()
    seed: int = 0


@dataclass
class Generation:
    text: str
    ids: list[int] = field(default_factory=list)
    finish: str = "eos"  # "eos" | "stop" | "length" | "context" | "cancelled"
    passes: int = 0  # model runs, the prompt's included
    drafted: int = 0  # tokens guessed from the prompt
    accepted: int = 0  # guesses that were the chosen token

    @property
    def acceptance(self) -> float:
        return self.accepted / self.drafted if self.drafted else 0.0


def _penalised(candidates: list[tuple[int, float]], seen: set[int], penalty: float) -> list[tuple[int, float]]:
    if penalty == 1.0 or not seen:
        return candidates
    out = [(t, (l / penalty if l > 0 else l * penalty) if t in seen else l) for t, l in candidates]
    return sorted(out, key=lambda c: -c[1])


def choose(candidates: list[tuple[int, float]], sampling: Sampling, rng: random.Random) -> int:
    """The next token among the best candidates (sorted best first)."""
    if sampling.temperature <= 0:
        return candidates[0][0]
    top = candidates[0][1]
    weights = [math.exp((l - top) / sampling.temperature) for _, l in candidates]
    total = sum(weights)
    kept, mass = [], 0.0
    for (token, _), w in zip(candidates, weights):
        kept.append((token, w))
        mass += w / total
        if mass >= sampling.top_p:
            break
    pick = rng.random() * sum(w for _, w in kept)
    for token, w in kept:
        pick -= w
        if pick <= 0:
            return token
    return kept[-1][0]


def _held_back(text: str, stops: tuple[str, ...]) -> int:
    """How many trailing characters of `text` to hold: a partial character or a possible stop-string start."""
    if text.endswith("\ufffd"):
        return len(text) - len(text.rstrip("\ufffd"))
    hold = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), hold, -1):
            if text.endswith(stop[:n]):
                hold = n
                break
    return hold


def draft_from_context(context: list[int], limit: int, ngrams: tuple[int, ...] = DRAFT_NGRAMS) -> list[int]:
    """Up to `limit` tokens that followed the latest earlier occurrence of the context's last n-gram.

    Prompt-lookup drafting: an answer about documents copies runs of its sources, so once its last
    few tokens match a place in the prompt, the tokens after that place are a good guess of what
    comes next. The n-gram sizes are tried in the order given; no match, no draft.
    """
    if limit <= 0:
        return []
    end = len(context)
    for n in (n for n in ngrams if n < end):
        suffix = context[end - n:]
        for start in range(end - n - 1, -1, -1):
            if context[start:start + n] == suffix:
                return context[start + n:start + n + limit]
    return []


def generate(model: GenerationModel, prompt: list[int], sampling: Sampling = Sampling(),
             on_text: Callable[[str], None] | None = None,
             cancelled: Callable[[], bool] | None = None, draft: int = DRAFT) -> Generation:
    """Run the model from `prompt`; `on_text` receives each new piece of text as it becomes final.

    Speculative: each pass feeds the last chosen token plus up to `draft` tokens guessed from the
    prompt (`draft_from_context`) and gets candidates for every one of those positions. A guess is
    kept while it equals the token chosen at its position, so the text is exactly what one token per
    pass would give (the same `choose` runs once per token, sampling included); the first miss
    ends the run, and the guesses after it are discarded from the cache.
    """
    generator, tokenizer = model.generator, model.tokenizer
    rng = random.Random(sampling.seed)
    generator.reset()
    rows = generator.step(prompt, CANDIDATES)
    guesses: list[int] = []
    ids: list[int] = []
    sent = 0  # characters already streamed
    text, finish = "", "length"
    passes, drafted, accepted = 1, 0, 0

    def emit(token: int) -> str | None:
        """Take `token` as the next one; the finish reason if it ends the answer."""
        nonlocal text, sent
        if token in model.stop_ids:
            return "eos"
        ids.append(token)
        text = tokenizer.decode(ids)
        hit = min((i for i in (text.find(s, max(0, sent - len(s))) for s in sampling.stop_strings) if i >= 0),
                  default=-1)
        if hit >= 0:
            text = text[:hit]
            return "stop"
        ready = len(text) - _held_back(text, sampling.stop_strings)
        if on_text and ready > sent:
            on_text(text[sent:ready])
            sent = ready
        if len(ids) >= sampling.max_new_tokens:
            return "length"
        if len(prompt) + len(ids) >= generator.context:
            return "context"
        return None

    while True:
        ended = None
        for at, row in enumerate(rows):
            if cancelled and cancelled():
                ended = "cancelled"
                break
            token = choose(_penalised(row, set(ids), sampling.repetition_penalty), sampling, rng)
            ended = emit(token)
            if ended or at == len(guesses) or token != guesses[at]:
                break
            accepted += 1
        if ended:
            finish = ended
            break
        kept = at  # guesses confirmed by this pass; the rest are not the text
        if kept < len(guesses):
            generator.discard(len(guesses) - kept)
        room = min(sampling.max_new_tokens - len(ids), generator.context - len(prompt) - len(ids)) - 1
        guesses = draft_from_context(prompt + ids, min(draft, room))
        drafted += len(guesses)
        rows = generator.step([ids[-1], *guesses], CANDIDATES, positions=len(guesses) + 1)
        passes += 1
    text = text.rstrip("\ufffd")
    if on_text and len(text) > sent:
        on_text(text[sent:])
    return Generation(text, ids, finish, passes, drafted, accepted)
