"""The library's behaviour on fast pure-Python backends: adding, failing per file, reopening, removing, asking."""

import pytest

from fakes import ExactIndex, HashEmbedder, MemoryStore, ScriptedGenerator
from quire.embedding import EmbeddingModel
from quire.generation import GenerationModel
from quire.library import Library, LibraryError
from quire.prompting import ChatFormat
from quire.tokenizers import Tokenizer
from samples import make_docx, make_pdf, w_p, word_document

FILES = [
    ("orchard.md", b"# Orchard\n\nThe orchard grows apples on the north slope.\n\n## Harvest\n\nHarvest begins in October."),
    ("cider.pdf", make_pdf([["The cider is pressed in November."], ["Bottles rest in the cellar until spring."]])),
    ("bees.docx", make_docx(word_document(w_p("Bees", "Heading1") + w_p("The hives stand by the river.")))),
    ("notes.html", b"<html><head><title>Notes</title><script>alert(1)</script></head>"
                   b"<body><h1>Notes</h1><p>The farm shop opens at nine.</p></body></html>"),
    ("tea.txt", "The tea room serves café crème.".encode("latin-1")),
]
BAD = [("empty.txt", b""), ("scan.pdf", make_pdf([[], []])), ("broken.docx", b"PK\x03\x04 not really a zip")]


@pytest.fixture(scope="module")
def tokenizers(built_models):
    return (Tokenizer.from_file(built_models["all-minilm-l6-v2"] / "tokenizer.json"),
            Tokenizer.from_file(built_models["smollm2-135m-instruct"] / "tokenizer.json"))


class CountingEmbedder(HashEmbedder):
    calls = 0

    def embed(self, batch):
        CountingEmbedder.calls += len(batch)
        return super().embed(batch)


def open_library(tokenizers, store, index, script="The cider is pressed in November [1].", name="hash"):
    emb_tok, gen_tok = tokenizers
    embedding = EmbeddingModel(name, CountingEmbedder(emb_tok), emb_tok, 64, HashEmbedder.batch_size)
    generator = ScriptedGenerator(gen_tok, script, gen_tok.token_id("<|im_end|>"))
    template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}<|im_start|>assistant\n"
    generation = GenerationModel("scripted", generator, gen_tok, ChatFormat(template, gen_tok),
                                 {gen_tok.token_id("<|im_end|>")})
    return Library(store, index, embedding, generation)


def test_a_batch_adds_every_readable_file_and_names_each_failure(tokenizers):
    library = open_library(tokenizers, MemoryStore(), ExactIndex())
    results = library.add_files(FILES + BAD)
    assert [r.ok for r in results] == [True] * 5 + [False] * 3
    reasons = {r.name: r.reason for r in results if not r.ok}
    assert reasons["empty.txt"] == "the file is empty"
    assert "no text layer" in reasons["scan.pdf"]
    assert "not a DOCX" in reasons["broken.docx"] or "damaged" in reasons["broken.docx"]
    assert sorted(d["name"] for d in library.documents.values()) == sorted(n for n, _ in FILES)
    assert library.add("tea.txt", FILES[-1][1]).reason == "already in the library"


def test_sources_come_first_then_the_extractive_answer_then_tokens_then_the_answer(tokenizers):
    library = open_library(tokenizers, MemoryStore(), ExactIndex())
    library.add_files(FILES)
    events = []
    answer = library.ask("When is the cider pressed?", lambda kind, payload: events.append((kind, payload)))
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["sources", "extractive"] and kinds[-1] == "answer" and set(kinds[2:-1]) == {"token"}
    assert events[0][1][0].name == "cider.pdf" and events[0][1][0].page == 1
    assert answer.extractive.text == "The cider is pressed in November."
    assert answer.generated == "The cider is pressed in November [1]."
    assert answer.text == "November. [1]"  # as shown: what the answer adds to the question, cited
    cited = answer.citations()[0]
    document = library.document(cited.doc_id)
    assert document.text[cited.start:cited.end] == cited.text == "The cider is pressed in November."
    assert cited.page == 1 and library.documents[cited.doc_id]["name"] == "cider.pdf"


def test_the_library_reopens_without_embedding_again(tokenizers):
    store, index = MemoryStore(), ExactIndex()
    open_library(tokenizers, store, index).add_files(FILES)
    before = CountingEmbedder.calls
    reopened = open_library(tokenizers, store, index)
    assert CountingEmbedder.calls == before
    assert len(reopened.documents) == 5
    assert reopened.search("hives river")[0].name == "bees.docx"
    assert reopened.search("farm shop opens")[0].heading == ("Notes",)


def test_an_index_behind_the_store_is_rebuilt_from_stored_vectors(tokenizers):
    store, index = MemoryStore(), ExactIndex()
    library = open_library(tokenizers, store, index)
    library.add_files(FILES[:2])
    library.add("bees.docx", FILES[2][1])  # committed, but the index was not saved after it (a crash)
    before = CountingEmbedder.calls
    reopened = open_library(tokenizers, store, index)
    assert CountingEmbedder.calls == before
    assert reopened.index.saved[0] == str(reopened.state) and len(reopened.index) == len(reopened.chunks)
    assert reopened.search("hives by the river")[0].name == "bees.docx"


def test_regression_an_index_with_the_right_tag_but_missing_vectors_is_rebuilt(tokenizers):
    store, index = MemoryStore(), ExactIndex()
    open_library(tokenizers, store, index).add_files(FILES[:3])
    tag, vectors = index.saved
    index.saved = (tag, dict(list(vectors.items())[:-2]))  # a save cut short, its tag already written
    reopened = open_library(tokenizers, store, index)
    assert len(reopened.index) == len(reopened.chunks) == len(vectors)
    assert reopened.search("hives by the river")[0].name == "bees.docx"


def test_remove_and_clear(tokenizers):
    store = MemoryStore()
    library = open_library(tokenizers, store, ExactIndex())
    library.add_files(FILES)
    bees = next(d for d, meta in library.documents.items() if meta["name"] == "bees.docx")
    library.remove(bees)
    assert all(hit.name != "bees.docx" for hit in library.search("hives river", 10))
    assert not [k for k in store.keys() if bees in k]
    with pytest.raises(LibraryError):
        library.remove(bees)
    library.clear()
    assert store.keys() == [] and library.search("cider") == []


class FailingStore(MemoryStore):
    def commit(self, writes, deletes=()):
        if any(k.startswith("doc/") for k in writes):
            raise OSError(28, "No space left on device")
        super().commit(writes, deletes)


def test_regression_a_failed_write_loses_nothing_already_in_the_library(tokenizers):
    store = FailingStore()
    healthy = open_library(tokenizers, MemoryStore(), ExactIndex())
    healthy.add_files(FILES[:1])
    store.blobs = dict(healthy.store.blobs)  # a library with one document, on a disk that is now full
    library = open_library(tokenizers, store, ExactIndex())
    results = library.add_files([FILES[-1], *BAD[:1]])  # a full disk is that file's message, and the batch goes on
    assert [(r.ok, r.reason) for r in results] == [(False, "[Errno 28] No space left on device"),
                                                   (False, "the file is empty")]
    assert [d["name"] for d in library.documents.values()] == ["orchard.md"]
    assert library.search("tea room café")[0].name == "orchard.md"  # nothing half-added is found
    assert open_library(tokenizers, store, ExactIndex()).search("orchard apples")[0].name == "orchard.md"


def test_a_library_built_with_another_embedding_model_is_refused(tokenizers):
    store = MemoryStore()
    open_library(tokenizers, store, ExactIndex()).add_files(FILES[:1])
    with pytest.raises(LibraryError, match="embedding model hash"):
        open_library(tokenizers, store, ExactIndex(), name="other")


def test_regression_a_citation_from_the_second_page_of_a_passage_names_that_page(tokenizers):
    library = open_library(tokenizers, MemoryStore(), ExactIndex(), script="Bottles rest in the cellar until spring.")
    library.add_files(FILES[1:2])  # one passage across pages 1 and 2
    answer = library.ask("Where do the bottles rest?")
    assert answer.sources[0].page == 1
    assert [(c.text, c.page) for c in answer.citations()] == [("Bottles rest in the cellar until spring.", 2)]
