import random

import pytest

from fakes import ScriptedGenerator
from quire.generation import GenerationModel, Sampling, _penalised, choose, generate
from quire.tokenizers import Tokenizer


@pytest.fixture(scope="module")
def smol(built_models, registry):
    folder = built_models["smollm2-135m-instruct"]
    return registry["smollm2-135m-instruct"], Tokenizer.from_file(folder / "tokenizer.json"), folder


def scripted(smol, script: str, context: int = 2048) -> GenerationModel:
    record, tok, _ = smol
    generator = ScriptedGenerator(tok, script, tok.token_id("<|im_end|>"), context)
    return GenerationModel.from_facts(record.id, record.facts, tok, generator)


def test_stops_at_the_end_token_and_streams_everything(smol):
    model = scripted(smol, "Paris is the capital of France [1].")
    pieces = []
    out = generate(model, [1, 2, 3], Sampling(), pieces.append)
    assert out.text == "Paris is the capital of France [1]." == "".join(pieces)
    assert out.finish == "eos" and len(pieces) > 3


def test_stop_strings_end_the_answer_and_are_never_streamed(smol):
    model = scripted(smol, "Warsaw.\n\nQuestion: and now something else")
    pieces = []
    out = generate(model, [1], Sampling(stop_strings=("\n\n",)), pieces.append)
    assert out.text == "Warsaw." == "".join(pieces) and out.finish == "stop"


def test_token_limit_context_and_cancel(smol):
    model = scripted(smol, "one two three four five six seven eight nine ten " * 5)
    assert generate(model, [1], Sampling(max_new_tokens=4)).finish == "length"
    assert len(generate(model, [1], Sampling(max_new_tokens=4)).ids) == 4
    assert generate(scripted(smol, "a b c d e f g", context=5), [1, 2, 3], Sampling()).finish == "context"
    calls = []
    out = generate(model, [1], Sampling(), cancelled=lambda: len(calls.append(1) or calls) > 3)
    assert out.finish == "cancelled" and len(out.ids) == 3


def test_partial_utf8_is_held_until_whole(smol):
    model = scripted(smol, "東京 🎉 ok")
    pieces = []
    out = generate(model, [1], Sampling(), pieces.append)
    assert "".join(pieces) == out.text == "東京 🎉 ok"
    assert all("\ufffd" not in p for p in pieces)


def test_repetition_penalty_moves_off_a_repeated_token():
    candidates = [(5, 2.0), (7, 1.9)]
    assert _penalised(candidates, {5}, 1.2)[0][0] == 7
    assert _penalised(candidates, set(), 1.2)[0][0] == 5


def test_sampling_is_seeded_and_top_p_keeps_the_nucleus():
    candidates = [(1, 5.0), (2, 4.9), (3, -10.0)]
    greedy = Sampling()
    assert choose(candidates, greedy, random.Random(0)) == 1
    warm = Sampling(temperature=1.0, top_p=0.9)
    picks = [choose(candidates, warm, random.Random(seed)) for seed in range(200)]
    assert set(picks) == {1, 2}  # token 3 is outside the nucleus
    assert picks == [choose(candidates, warm, random.Random(seed)) for seed in range(200)]


def test_greedy_with_the_real_model_matches_plain_argmax(smol):
    from quire.backends.cpython import OnnxGenerator
    record, tok, folder = smol
    generator = OnnxGenerator(folder)
    model = GenerationModel.from_facts(record.id, record.facts, tok, generator)
    prompt = tok.encode(model.chat.render([{"role": "user", "content": "What is the capital of France?"}]),
                        add_special_tokens=False)
    out = generate(model, prompt, Sampling(max_new_tokens=24))
    generator.reset()
    expect, logits = [], generator.forward(prompt)[-1]
    while len(expect) < 24 and int(logits.argmax()) not in model.stop_ids:
        expect.append(int(logits.argmax()))
        logits = generator.forward([expect[-1]])[-1]
    assert out.ids == expect
    assert "Paris" in out.text
