import random

import pytest

from fakes import ScriptedGenerator
from quire.generation import GenerationModel, Sampling, _penalised, choose, draft_from_context, generate
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


def test_draft_continues_the_latest_longest_match_in_the_context():
    context = [1, 2, 3, 9, 9, 2, 3, 4, 5, 6, 7, 1, 2, 3]
    assert draft_from_context(context, 3) == [9, 9, 2]  # "1 2 3" matched (longest), its continuation
    assert draft_from_context([5, 2, 3, 8, 4, 2, 3], 2) == [8, 4]  # only "2 3" matches
    assert draft_from_context([4, 5, 6, 7, 4, 5, 1, 4, 5], 1) == [1]  # the latest "4 5"
    assert draft_from_context([1, 2, 3], 4) == []
    assert draft_from_context([7, 1, 2, 9, 3, 9], 2) == []  # a single token is too weak a match
    assert draft_from_context([1, 2, 1, 2], 0) == []


def test_answers_copied_from_the_prompt_take_fewer_model_runs_and_say_the_same(smol):
    record, tok, _ = smol
    fact = "The Severn Bridge opened in 1966 after five years of construction by Freeman Fox."
    prompt = tok.encode(f"Sources:\n[1] {fact}\nQuestion: When did the bridge open?\nAnswer:",
                        add_special_tokens=False)
    outputs = {}
    for draft in (0, 4):
        model = scripted(smol, fact)
        outputs[draft] = (generate(model, prompt, Sampling(), draft=draft), model.generator)
    (plain, plain_gen), (fast, fast_gen) = outputs[0], outputs[4]
    assert fast.text == plain.text == fact and fast.ids == plain.ids
    assert fast_gen.fed[:len(prompt) + len(fast.ids)] == prompt + fast.ids  # wrong guesses were discarded
    assert plain.passes == len(plain.ids) + 1 and fast.passes <= plain.passes / 3
    assert fast.acceptance > 0.6 and plain.drafted == 0  # guesses run past the copy at its end


def test_wrong_guesses_change_nothing_and_limits_still_hold(smol):
    record, tok, _ = smol
    # The prompt holds a near copy that diverges: guesses from it fail after "The cat".
    prompt = tok.encode("The cat sat on the red mat near the door. Repeat:", add_special_tokens=False)
    for max_new in (3, 5, 40):
        got = [generate(scripted(smol, "The cat slept on the mat near the door all day."), prompt,
                        Sampling(max_new_tokens=max_new), draft=draft) for draft in (0, 4)]
        assert got[0].ids == got[1].ids and got[0].finish == got[1].finish
    assert got[1].drafted > got[1].accepted > 0


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


def test_speculation_with_the_real_model_changes_only_the_number_of_runs(smol):
    from quire.backends.cpython import OnnxGenerator
    record, tok, folder = smol
    # The fp32 export: the shipped file quantizes activations to 8 bits, whose rounding differs when
    # tokens share a run, so a near-tie can go the other way (drafts cannot be bit-exact there).
    model = GenerationModel.from_facts(record.id, record.facts, tok, OnnxGenerator(folder, "onnx/model.onnx"))
    source = ("The Golden Gate Bridge was opened on May 27, 1937. Its main span is 1,280 metres long "
              "and it was the longest suspension bridge in the world until 1964.")
    prompt = tok.encode(model.chat.render([{"role": "user", "content":
                        f"{source}\n\nCopy the first sentence of the text above exactly."}]), add_special_tokens=False)
    for sampling in (Sampling(max_new_tokens=40), Sampling(max_new_tokens=40, temperature=0.7, top_p=0.9, seed=3)):
        plain, fast = (generate(model, prompt, sampling, draft=draft) for draft in (0, 4))
        assert fast.ids == plain.ids and fast.text == plain.text
        assert fast.passes < plain.passes and fast.accepted > 0
