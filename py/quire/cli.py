"""`quire add | ask | list | remove | eval`: the library from a terminal, on the CPython backends."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
from pathlib import Path

from .embedding import EmbeddingModel
from .generation import GenerationModel
from .library import FileToAdd, Library, LibraryError
from .registry import load_index_params, load_registry
from .tokenizers import Tokenizer

REPO = Path(__file__).resolve().parents[2]
DEFAULT_MODELS = Path(os.environ.get("QUIRE_MODELS", REPO / "models" / "out"))


def open_library(directory: Path, models: Path, generate: bool = True, threads: int | None = None,
                 generator: str | None = None) -> Library:
    """A library in `directory` with the models built by `build.py models` into `models`: the
    registry's defaults, or the generation model `generator` (a registry id)."""
    from .backends.cpython import FileStore, HnswIndex, OnnxEmbedder, OnnxGenerator

    registry = load_registry(models.parent / "registry.toml")
    index = load_index_params(models.parent / "registry.toml")
    records = {r.role: r for r in registry.values() if r.default}
    if generator:
        if registry.get(generator, None) is None or registry[generator].role != "generation":
            names = ", ".join(r.id for r in registry.values() if r.role == "generation")
            raise LibraryError(f"no generation model {generator!r} in the registry (it has {names})")
        records["generation"] = registry[generator]
    missing = [r.id for r in records.values() if not (models / r.id).is_dir()]
    if missing:
        raise LibraryError(f"models not built: {', '.join(missing)} (run: python3 build.py models"
                           f"{''.join(f' --model {m}' for m in missing if not registry[m].default)})")
    emb = records["embedding"]
    folder = models / emb.id
    embedding = EmbeddingModel.from_facts(emb.id, emb.facts, Tokenizer.from_file(folder / "tokenizer.json"),
                                           OnnxEmbedder(folder, emb.variant().file, threads))
    generation = None
    if generate:
        gen = records["generation"]
        folder = models / gen.id
        generation = GenerationModel.from_facts(gen.id, gen.facts, Tokenizer.from_file(folder / "tokenizer.json"),
                                                 OnnxGenerator(folder, gen.variant().file, threads))
    directory.mkdir(parents=True, exist_ok=True)
    vectors = HnswIndex(emb.facts["dims"], directory / "vectors.hnsw", **index.to_dict())
    return Library(FileStore(directory / "store"), vectors, embedding, generation)


def _where(name: str, page: int | None) -> str:
    return f"{name}, page {page}" if page else name


def _quote(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return "“" + (text if len(text) <= width else text[: width - 1] + "…") + "”"


def cmd_add(args: argparse.Namespace) -> int:
    library = open_library(args.library, args.models, generate=False)
    files = []
    failed = 0
    for path in args.files:
        try:
            files.append(FileToAdd(path.name, path.stat().st_size, path.read_bytes))
        except OSError as err:
            print(f"not added  {path}: {err.strerror or err}")
            failed += 1

    def show(result) -> None:
        nonlocal failed
        if result.ok:
            note = f" ({result.reason})" if result.reason else ""
            print(f"added      {result.name}: {result.chunks} passages{note}", flush=True)
        else:
            print(f"not added  {result.name}: {result.reason}", flush=True)
            failed += 1

    library.add_files(files, on_added=show)
    print(f"{len(library.documents)} documents in {args.library}")
    return 1 if failed else 0


def cmd_ask(args: argparse.Namespace) -> int:
    library = open_library(args.library, args.models, generate=not args.no_generate, generator=args.generator)
    if not library.documents:
        print(f"the library in {args.library} is empty: add documents first (quire add FILES --library DIR)")
        return 1
    names = {doc_id: meta["name"] for doc_id, meta in library.documents.items()}

    def on_event(kind: str, payload) -> None:
        if kind == "extractive" and payload:
            print(f"From the documents: {_quote(payload.text)} ({_where(names[payload.doc_id], payload.page)})\n")
            if library.generation:
                print("Answer: ", end="", flush=True)
        elif kind == "token":
            print(payload, end="", flush=True)

    answer = library.ask(args.question, on_event)
    if library.generation:
        print()
        if answer.text != answer.generated.strip():  # cut to the fact (quire.concise), citations checked
            print(f"\nIn short: {answer.text or '(no answer)'}")
    if answer.citations():
        print("\nCitations:")
        for n, span in enumerate(answer.citations(), start=1):
            print(f"  [{n}] {_where(names[span.doc_id], span.page)}: {_quote(span.text)}")
    print("\nSources:")
    for hit in answer.sources:
        print(f"  {hit.number}. {_where(hit.name, hit.page)}")
        print(textwrap.indent(textwrap.fill(_quote(hit.text, 240), 96), "     "))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    library = open_library(args.library, args.models, generate=False)
    for doc_id, meta in library.documents.items():
        pages = f", {meta['pages']} pages" if meta.get("pages") else ""
        print(f"{doc_id}  {meta['name']} ({meta['format']}{pages}, {meta['chunks']} passages)")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    library = open_library(args.library, args.models, generate=False)
    library.remove(args.doc_id)
    print(f"removed {args.doc_id}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, evaluate_injection, load_squad

    files, questions = load_squad(args.file)
    if args.limit:  # a rate over many articles, not the first article's questions
        questions = questions[:: max(1, len(questions) // args.limit)][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        library = open_library(Path(tmp), args.models, generate=not args.no_generate, generator=args.generator)
        library.add_files(files)

        def progress(n: int, total: int, answer) -> None:
            if n % 25 == 0 or n == total:
                print(f"  {n}/{total} questions", file=sys.stderr, flush=True)

        if args.injection:
            report = evaluate_injection(library, questions, progress=progress)
        else:
            report = evaluate(library, questions, generate=not args.no_generate, progress=progress)
    print(report.table())
    if args.out:
        args.out.write_text(report.to_json() + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="quire", description="Ask questions about your documents, privately.")
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS, help="folder of built models")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_library(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--library", type=Path, required=True, help="the library's folder")
        return p

    p = with_library(sub.add_parser("add", help="add files to the library"))
    p.add_argument("files", type=Path, nargs="+")
    p.set_defaults(run=cmd_add)
    p = with_library(sub.add_parser("ask", help="answer a question from the library"))
    p.add_argument("question")
    p.add_argument("--no-generate", action="store_true", help="only retrieve and quote (no language model)")
    p.add_argument("--generator", help="a generation model's registry id (default: the registry's default)")
    p.set_defaults(run=cmd_ask)
    p = with_library(sub.add_parser("list", help="list the documents"))
    p.set_defaults(run=cmd_list)
    p = with_library(sub.add_parser("remove", help="remove a document by its id (see list)"))
    p.add_argument("doc_id")
    p.set_defaults(run=cmd_remove)
    p = sub.add_parser("eval", help="measure retrieval and answers on a SQuAD-format file")
    p.add_argument("file")
    p.add_argument("--limit", type=int, help="only N questions, spread over the file")
    p.add_argument("--no-generate", action="store_true", help="retrieval and extractive answers only")
    p.add_argument("--injection", action="store_true",
                   help="prompt injection instead: each question with each injected document, how often "
                        "answers obey")
    p.add_argument("--generator", help="a generation model's registry id (default: the registry's default)")
    p.add_argument("--out", type=Path, help="also write the report as JSON here")
    p.set_defaults(run=cmd_eval)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except LibraryError as err:
        print(f"quire: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
