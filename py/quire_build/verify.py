"""Checks that a converted model still gives the source model's answers (CPython side).

Each check raises BuildError naming the model, the variant and the number that failed; the numbers
that passed go into the folder's `verification.json`, which the browser check then reuses as its
reference (the same inputs, and CPython onnxruntime's outputs on the same files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from quire.backends.cpython import OnnxEmbedder, OnnxGenerator
from quire.registry import ModelRecord

from . import BuildError
from .convert import load_causal_lm_torch, load_embedding_torch

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Quire answers questions about your documents without sending them anywhere.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The Treaty of Westphalia was signed in 1648, ending the Thirty Years' War.",
    "Wie spät ist es? Es ist halb acht.",
    "Le chat dort sur le canapé depuis ce matin.",
    "東京は日本の首都です。",
    "Emoji carry meaning too 🙂🚀",
    "A hash table gives expected constant-time lookups when the load factor stays bounded.",
    "Water boils at 100 degrees Celsius at sea level.",
    " ".join(["This sentence is long on purpose so that the window is exercised properly."] * 12),
    "Short.",
]

# Grounded prompts: a small context, a question, and the fact the answer must contain.
GROUNDED = [
    ("The Lindqvist Bridge opened in 1905. It is 192 metres long and crosses the river Vella.",
     "How long is the Lindqvist Bridge?", "192"),
    ("Marie Curie was born in Warsaw in 1867. She won the Nobel Prize in Physics in 1903.",
     "In which city was Marie Curie born?", "Warsaw"),
    ("The team meeting was moved from Tuesday to Thursday because the room was booked.",
     "To which day was the team meeting moved?", "Thursday"),
    ("The parcel was delivered to the warehouse in Leeds on Monday morning.",
     "Where was the parcel delivered?", "Leeds"),
    ("The capital of the fictional country of Veloria is Ostrava Nova, a city of 2 million people.",
     "What is the capital of Veloria?", "Ostrava Nova"),
    ("Mount Kessel is the highest peak in the Aren range, at 4,210 metres.",
     "What is the highest peak in the Aren range?", "Kessel"),
    ("The Orion spacecraft carried four astronauts around the Moon in 2026.",
     "How many astronauts did Orion carry?", "four"),
    ("Copper is an excellent conductor of electricity and is used in most household wiring.",
     "What is copper used for in houses?", "wiring"),
    ("The bakery on Elm Street sells sourdough bread every morning, and croissants only on Sundays.",
     "When does the bakery sell croissants?", "Sunday"),
    ("Ada Lovelace wrote the first published algorithm intended for Charles Babbage's Analytical Engine.",
     "For which machine did Ada Lovelace write her algorithm?", "Analytical Engine"),
    ("The river Tamsin flows north for 340 kilometres before it reaches the sea at Port Ellery.",
     "Where does the river Tamsin reach the sea?", "Port Ellery"),
    ("Our office Wi-Fi password was changed to BlueHeron42 on 3 March.",
     "What is the new Wi-Fi password?", "BlueHeron42"),
    ("Penguins cannot fly, but they are strong swimmers and can dive to depths of over 500 metres.",
     "Can penguins fly?", "not"),
    ("The concert was cancelled because the lead singer lost her voice.",
     "Why was the concert cancelled?", "voice"),
]
NEW_TOKENS = 40


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(1)


def embedding_batch(folder: Path) -> list[list[int]]:
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    return [e.ids for e in tok.encode_batch(SENTENCES)]


def verify_embedding(rec: ModelRecord, src: Path, folder: Path) -> dict:
    batch = embedding_batch(folder)
    width = max(map(len, batch))
    if width > rec.facts["window"]:
        raise BuildError(f"{rec.id}: tokenizer does not truncate at the {rec.facts['window']}-token window")
    ids = torch.tensor([s + [0] * (width - len(s)) for s in batch])
    mask = (torch.arange(width)[None] < torch.tensor([len(s) for s in batch])[:, None]).long()
    with torch.no_grad():
        hidden, pooled = load_embedding_torch(src, rec)(ids, mask, torch.zeros_like(ids))
    fp32 = OnnxEmbedder(folder, "onnx/model.onnx")
    onnx_pooled = fp32.embed(batch)
    diff = float(np.abs(onnx_pooled - pooled.numpy()).max())
    if diff > 1e-4:
        raise BuildError(f"{rec.id}: fp32 ONNX embeddings differ from PyTorch by {diff:.2e} (limit 1e-4)")
    report = {"fp32_max_abs_diff": diff, "variants": {}}
    for v in rec.variants:
        vecs = OnnxEmbedder(folder, v.file).embed(batch)
        cos = _cosines(vecs, onnx_pooled)
        mean, worst = float(cos.mean()), float(cos.min())
        if worst < v.checks["min_cosine_to_fp32"]:
            raise BuildError(f"{rec.id} ({v.name}): cosine to fp32 is {worst:.4f} at worst "
                             f"(needs ≥ {v.checks['min_cosine_to_fp32']} on every sentence)")
        report["variants"][v.name] = {"mean_cosine_to_fp32": mean, "min_cosine_to_fp32": worst,
                                      "vectors": vecs.tolist()}
    report["token_ids"] = batch
    return report


def grounded_prompts(folder: Path) -> list[list[int]]:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    prompts = []
    for context, question, _ in GROUNDED:
        msg = f"Answer briefly from the context.\n\nContext: {context}\n\nQuestion: {question}"
        prompts.append(list(tok.apply_chat_template([{"role": "user", "content": msg}],
                                                    add_generation_prompt=True, tokenize=True,
                                                    return_dict=True)["input_ids"]))
    return prompts


def greedy(gen: OnnxGenerator, prompt: list[int], stop: set[int], n: int = NEW_TOKENS) -> list[int]:
    gen.reset()
    logits = gen.forward(prompt)[-1]
    out = []
    for _ in range(n):
        nxt = int(logits.argmax())
        out.append(nxt)
        if nxt in stop:
            break
        logits = gen.forward([nxt])[-1]
    return out


def teacher_forced_top1(gen: OnnxGenerator, prompt: list[int], continuation: list[int]) -> list[int]:
    """The model's top-1 token at each position of `continuation`, given the true prefix.

    Fed as decoding runs: a prefill, then one token at a time through the KV cache. (Dynamic int8
    quantizes activations per call, so one pass over the whole sequence gives other numbers.)
    """
    gen.reset()
    top1 = [int(gen.forward(prompt)[-1].argmax())]
    top1 += [int(gen.forward([t])[-1].argmax()) for t in continuation[:-1]]
    return top1


def verify_generation(rec: ModelRecord, src: Path, folder: Path) -> dict:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(folder)
    stop = {tok.convert_tokens_to_ids(t) for t in rec.facts["stop_tokens"]}
    prompts = grounded_prompts(folder)

    # fp32 ONNX against PyTorch, through the cache: a prefill, then single-token steps.
    model = load_causal_lm_torch(src)
    fp32 = OnnxGenerator(folder, "onnx/model.onnx")
    worst = 0.0
    for ids in prompts[:3]:
        with torch.no_grad():
            ref = model(input_ids=torch.tensor([ids])).logits[0].numpy()
        fp32.reset()
        got = np.concatenate([fp32.forward(ids[:-3])] + [fp32.forward([t]) for t in ids[-3:]])
        worst = max(worst, float(np.abs(got - ref).max()))
    del model
    if worst > 1e-3:
        raise BuildError(f"{rec.id}: fp32 ONNX logits differ from PyTorch by {worst:.2e} (limit 1e-3)")

    continuations = [greedy(fp32, p, stop) for p in prompts]
    report = {"fp32_max_abs_logit_diff": worst, "prompts": prompts, "continuations": continuations,
              "fp32_answers": [tok.decode(c, skip_special_tokens=True) for c in continuations],
              "variants": {}}
    # A small (or base) model misses some facts even in fp32; quantization must not lose any it
    # had, and fp32 missing most of them means the conversion itself is wrong.
    knows = [fact.lower() in answer.lower() for (_, _, fact), answer in zip(GROUNDED, report["fp32_answers"])]
    report["fp32_facts"] = f"{sum(knows)}/{len(knows)}"
    if sum(knows) < len(knows) / 2:
        raise BuildError(f"{rec.id}: the fp32 model's answers hold only {report['fp32_facts']} of the facts "
                         f"asked for (first answer: {report['fp32_answers'][0]!r}); the conversion is wrong")
    for v in rec.variants:
        gen = OnnxGenerator(folder, v.file)
        top1 = [teacher_forced_top1(gen, p, c) for p, c in zip(prompts, continuations)]
        hits = sum(a == b for t, c in zip(top1, continuations) for a, b in zip(t, c))
        agreement = hits / sum(map(len, continuations))
        limit = v.checks["min_top1_agreement"]
        if agreement < limit:
            raise BuildError(f"{rec.id} ({v.name}): teacher-forced top-1 agreement with fp32 is "
                             f"{agreement:.3f} (needs ≥ {limit})")
        answers = [tok.decode(greedy(gen, p, stop), skip_special_tokens=True) for p in prompts]
        for (_, question, fact), answer, known in zip(GROUNDED, answers, knows):
            if known and fact.lower() not in answer.lower():
                raise BuildError(f"{rec.id} ({v.name}): asked {question!r}, answered {answer!r}, "
                                 f"which lacks {fact!r}")
        report["variants"][v.name] = {"top1_agreement": agreement, "answers": answers, "top1": top1}
    return report


VERIFIERS = {"embedding": verify_embedding, "generation": verify_generation}
