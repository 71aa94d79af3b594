"""What REST saves leave in live chapter documents, in memory and encoded.

In this process: `--chapters` documents of ~3,000 characters of the REST bench's text, then
`--saves` saves of the mix (one paragraph rewritten, `storage.docs.restore.set_content`) spread
over them at random, each made on a scratch copy and applied to the chapter's document as a
room does (`sync_server.room.Room.change`). Twice: every save as a new Yjs client (as REST saves
were written until 2026-12-07) and each chapter's saves as one client (as a user's are now).
Prints a Markdown table: glibc's memory in use (`mallinfo2`, Linux with glibc only) and the
encoded documents, before and after, and per save. No server, no network; seconds.

    python bench/save_growth.py [--chapters 100] [--saves 7200]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import random

from pycrdt import Doc, Text
from rest_text import ChapterText, join

from storage.docs.edits import updates_made
from storage.docs.restore import set_content
from storage.docs.schema import CONTENT


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            *("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks"),
            *("uordblks", "fordblks", "keepcost"),
        )
    ]


def heap_in_use_mb() -> float | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is None or not hasattr(libc, "mallinfo2"):
        return None
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return (info.uordblks + info.hblkhd) / 1e6


def encoded_mb(docs: list[Doc]) -> float:
    return sum(len(doc.get_update()) for doc in docs) / 1e6


def run(chapters: int, saves: int, one_client: bool) -> dict[str, float | None]:
    text = ChapterText(8)
    paragraphs = [[text.paragraph() for _ in range(10)] for _ in range(chapters)]
    docs: list[Doc] = []
    for mine in paragraphs:
        doc: Doc = Doc()
        doc.get(CONTENT, type=Text).insert(0, join(mine))
        docs.append(doc)
    writers = [random.getrandbits(52) for _ in range(chapters)]
    gc.collect()
    memory_before, encoded_before = heap_in_use_mb(), encoded_mb(docs)
    draw = random.Random(1)
    for _ in range(saves):
        index = draw.randrange(chapters)
        mine = paragraphs[index]
        mine[draw.randrange(len(mine))] = text.paragraph()
        scratch: Doc = Doc(client_id=writers[index]) if one_client else Doc()
        scratch.apply_update(docs[index].get_update())
        for update in updates_made(scratch, set_content(join(mine))):
            docs[index].apply_update(update)
    gc.collect()
    memory_after, encoded_after = heap_in_use_mb(), encoded_mb(docs)
    grown = None
    if memory_before is not None and memory_after is not None:
        grown = memory_after - memory_before
    return {
        "memory_mb": grown,
        "encoded_mb": encoded_after - encoded_before,
        "encoded_total_mb": encoded_after,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", type=int, default=100)
    parser.add_argument("--saves", type=int, default=7200)
    args = parser.parse_args()
    print(f"{args.saves:,} saves over {args.chapters} chapters")
    print()
    print("| saves write as | memory in use grown (MB) | per save (KB) | encoded grown (MB) |")
    print("| --- | --- | --- | --- |")
    for label, one_client in (("a new client each", False), ("one client a chapter", True)):
        grown = run(args.chapters, args.saves, one_client)
        memory = grown["memory_mb"]
        per_save = "—" if memory is None else f"{memory * 1000 / args.saves:.2f}"
        memory_cell = "—" if memory is None else f"{memory:.1f}"
        print(f"| {label} | {memory_cell} | {per_save} | {grown['encoded_mb']:.2f} |")


if __name__ == "__main__":
    main()
