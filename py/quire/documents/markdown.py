"""Markdown, read line by line: headings become structure, the rest loses its markup lightly.

HTML inside Markdown stays literal text: nothing here renders or runs it.
"""

from __future__ import annotations

import re

from . import Document, DocumentBuilder, Limits
from .text import decode_text

# YAML front matter opens with a key ("title: ..."): a file that opens with a thematic break "---" has
# text up to the next "---" line, and must keep it.
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?=[A-Za-z_][\w-]*:[ \t\n]).*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)", re.S)
FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?$")
SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
THEMATIC_BREAK = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
LIST_ITEM = re.compile(r"[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+")
QUOTE = re.compile(r"(?:[ \t]*>)+[ \t]?")  # all the levels of a nested quote at once
LINK_DEFINITION = re.compile(r" {0,3}\[[^\]]+\]:[ \t]*\S+")
TABLE_RULE = re.compile(r"[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$")  # |---|:--:|
# Each part stops at the next opener of its kind (and a run of backticks is taken whole), so
# unclosed markup costs linear time, not a search of the rest of the line for every opener.
INLINE = re.compile(r"""
    \\(?P<escaped>[!-/:-@\[-`{-~])                  # \* -> *
  | (?<!`)(?P<ticks>`++)(?P<code>[^`]+)(?P=ticks)(?!`)  # `code` -> code, untouched inside
  | !\[(?P<alt>[^\[\]]*)\]\([^()]*\)               # ![alt](src) -> alt
  | \[(?P<link>(?:[^\[\]]|!\[[^\[\]]*\]\([^()]*\))+)\]  # [text](url), [text][ref] -> text; the text
      (?:\([^()]*\)|\[[^\[\]]*\])                    # may be an image: [![alt](badge.svg)](url) -> alt
  | <(?P<auto>(?:https?|mailto):[^<>\s]+)>          # <https://...> -> the address
  | \*\*|__|~~                                      # strong, strikethrough
  | (?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w)             # emphasis, not the * in 2 * 3 or the _ in snake_case
""", re.X)


def strip_inline(text: str) -> str:
    def replace(m: re.Match) -> str:
        if m["link"] is not None:
            return strip_inline(m["link"])
        return next((m[g] for g in ("escaped", "code", "alt", "auto") if m[g] is not None), "")

    return INLINE.sub(replace, text)


def atx_text(rest: str) -> str:
    """An ATX heading's text without its optional closing run of #s ("## Title ##")."""
    text = rest.strip()
    opened = text.rstrip("#")
    return opened.rstrip() if not opened or opened[-1] in " \t" else text


def parse(name: str, data: bytes, limits: Limits) -> Document:
    text = FRONT_MATTER.sub("", decode_text(data), count=1)
    builder = DocumentBuilder(name, "markdown", limits)
    paragraph: list[str] = []
    fence: str | None = None  # the opening fence while inside a code block

    def flush(kind: str = "paragraph", level: int = 0) -> None:
        lines = paragraph if fence is not None else [strip_inline(line.strip()) for line in paragraph]
        builder.add("\n".join(lines), kind, level)
        paragraph.clear()

    for line in text.split("\n"):
        if fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                flush()
                fence = None
            else:
                paragraph.append(line)
            continue
        if m := QUOTE.match(line):
            line = line[m.end():]
        if m := FENCE.match(line):
            flush()
            fence = m[1]
        elif m := ATX.match(line):
            flush()
            paragraph.append(atx_text(m[2] or ""))
            flush("heading", len(m[1]))
        elif paragraph and (m := SETEXT.match(line)):
            flush("heading", 1 if m[1][0] == "=" else 2)
        elif TABLE_RULE.match(line):
            continue
        elif not line.strip() or THEMATIC_BREAK.match(line) or LINK_DEFINITION.match(line):
            flush()
        elif m := LIST_ITEM.match(line):
            flush()  # each item is its own block
            paragraph.append(line[m.end():])
        else:
            paragraph.append(line)
    flush()  # an unclosed fence keeps its code
    return builder.build()
