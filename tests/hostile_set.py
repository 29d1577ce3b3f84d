"""The hostile document set (../shared/scripts/make-docsets.sh, built once into the cache) and what
Quire must do with each of its files: add its text, or refuse it with a message that says why.

The CLI test (tests/test_hostile_set.py) and the page's (tests/e2e/test_hostile_set_page.py) check the
same table, so both front ends keep the same promises.
"""

from __future__ import annotations

from pathlib import Path

from quire_build.docsets import docsets, manifest

SCANNED = "no text layer (probably a scanned document)"
EMPTY = "the file is empty"
PASSWORD = "password-protected (remove the password and add it again)"
AES = "encrypted with AES, which Quire cannot decrypt yet (save a copy without encryption and add that)"
CJK = ["big5", "cp949", "euc_jp", "euc_kr", "gb18030", "gb2312", "shift_jis"]

# File -> None when its text is added, else the start of the message shown for it.
EXPECTED: dict[str, str | None] = {
    **{f"nonutf8-{encoding}.txt": None for encoding in CJK},
    "latin1.txt": None,
    "utf16-bom.txt": None,
    "multipage.pdf": None,  # text on some pages, images on the others
    "issue-604.pdf": None,  # 8 MB, 137 pages
    "base-source2e.pdf": "too many pages: 1,221, the limit is 1,000 (split it into parts)",
    "l3kernel-source3.pdf": "too many pages: 1,611, the limit is 1,000 (split it into parts)",
    **{name: SCANNED for name in ["blank.pdf", "c03-29.pdf", "cardinal.pdf", "ccitt.pdf", "cyclic-toc.pdf",
                                  "enormous.pdf", "francais.pdf", "jbig2.pdf", "linn.pdf", "skew.pdf"]},
    **{name: EMPTY for name in ["empty.txt", "empty.pdf", "empty.docx"]},
    **{name: PASSWORD for name in ["encryption-r2-user-password.pdf", "encryption-r4-aes-user-password.pdf",
                                   "libreoffice-writer-password.pdf"]},
    **{name: AES for name in ["encryption-r6-owner-password.pdf", "encryption-r6-user-password.pdf",
                              "graph-encrypted.pdf"]},
    **{name: "damaged PDF (" for name in ["content-stream-errors.pdf", "fuzz-378014596.pdf", "invalid.pdf",
                                          "sample_pdf_corrupted.pdf"]},
    "ratio-bomb-400MB.docx": "too large when decompressed (word/document.xml is 400.1 MB, the limit is 64 MB)",
    "xml-entity-bomb.docx": "unsafe XML (entity declarations are not allowed)",
}


def hostile_files() -> list[Path]:
    """Every file of the set, after checking the table names each one (a new file needs its row)."""
    folder = docsets() / "hostile"
    files = sorted(folder.iterdir())
    assert sorted(f.name for f in files) == sorted(EXPECTED), "the hostile set and EXPECTED disagree"
    return files


def utf8_twin(name: str) -> str:
    """The UTF-8 text a non-UTF-8 file of the set must decode to: the twin CPython's test suite ships
    beside it (in the Debian package make-docsets.sh took it from)."""
    root = docsets()
    source = Path(manifest(root)[name]["source"])
    twin = root.parent / "assets" / "x" / source.with_name(f"{source.stem}-utf8{source.suffix}")
    return twin.read_text(encoding="utf-8")


def words(text: str) -> str:
    """Text with its whitespace evened out: parsers re-flow paragraphs, the twins keep their lines."""
    return " ".join(text.split())
