"""Rendering in a child process, so that the memory a long export takes goes back with it.

A renderer's peak is about the size of its file (reportlab and python-docx hold the document
until they save), and memory freed by a long-lived process mostly stays with it. A spawned child
renders instead and writes the file to a path; it asks the parent for each chapter's text when it
comes to it, and reports progress as it goes. The parent reads the next chapter from the store
while the child renders the one it was given, so the child does not wait for the store.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

from jobs.exports import ExportOptions, ExportWork, LazyChapters, Progress, write

_JOIN_S = 10.0


def write_in_child(
    fmt: str,
    work: ExportWork,
    path: Path,
    options: ExportOptions,
    progress: Progress | None = None,
) -> None:
    """Write `work` as `fmt` to `path` from a spawned process. Blocks: call it from a worker
    thread. `work.chapters` are read here, one at a time, as the child asks for them."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    header = replace(work, chapters=[])
    child = context.Process(
        target=_render,
        args=(theirs, fmt, header, work.titles, str(path), options),
        name="inkweave-export",
        daemon=True,
    )
    child.start()
    theirs.close()
    try:
        _serve(ours, work, progress)
    finally:
        ours.close()
        child.join(_JOIN_S)
        if child.is_alive():
            child.kill()
            child.join()


def _serve(connection: Connection, work: ExportWork, progress: Progress | None) -> None:
    ahead: tuple[int, str] | None = None  # the chapter the child will ask for next, read already
    while True:
        try:
            message = connection.recv()
        except EOFError:
            raise RuntimeError("the export's process ended before the file was written") from None
        match message:
            case ("text", int(index)):
                if ahead is None or ahead[0] != index:
                    ahead = (index, work.chapters[index].text)
                connection.send(ahead[1])
                ahead = None  # the sent text goes before the next one is read
                if index + 1 < len(work.chapters):
                    ahead = (index + 1, work.chapters[index + 1].text)
            case ("progress", int(percent)):
                if progress is not None:
                    progress(percent)
            case ("done",):
                return
            case ("failed", BaseException() as error):
                raise error


def _render(
    connection: Connection,
    fmt: str,
    header: ExportWork,
    titles: list[str],
    path: str,
    options: ExportOptions,
) -> None:
    def text_of(index: int) -> str:
        connection.send(("text", index))
        text: str = connection.recv()
        return text

    work = replace(header, chapters=LazyChapters(titles, text_of))
    try:
        with open(path, "wb") as out:
            write(fmt, work, out, options, lambda percent: connection.send(("progress", percent)))
    except Exception as error:  # handed to the parent, which raises it as its own
        try:
            connection.send(("failed", error))
        except Exception:  # an error that cannot be pickled still says what it was
            connection.send(("failed", RuntimeError(repr(error))))
    else:
        connection.send(("done",))
    finally:
        connection.close()
