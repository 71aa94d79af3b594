"""A reportlab canvas that writes each page into the file as soon as it is finished.

reportlab keeps every page of a document (its objects and its content stream) until it saves,
then formats them all and joins the whole file in memory: about 10 KB of memory per page, 300 MB
for a 5,000-chapter novel. This canvas deflates each finished page and writes it, with its content
stream, to the output at once; what stays in memory until the save is one object reference per
page and the small objects written at the end (fonts, outline, forms, links).

A page that refers to something not defined yet (the contents' page-number forms, which are
defined when their chapters are laid out) cannot be formatted early: it is kept and written with
the rest at the save, as reportlab would. Streams leave out the ASCII85 layer reportlab adds by
default (`useA85`): binary streams are a fifth smaller, and encoding them to ASCII took a tenth of
a book's rendering time.

The save mirrors `PDFDocument.format` (reportlab 4), skipping the objects already written. Only
unencrypted documents are written this way (an object's encryption key depends on settings
reportlab prepares at the save); protected exports are encrypted afterwards (`pdf_lock`).
"""

from __future__ import annotations

from typing import BinaryIO

from reportlab import rl_config
from reportlab.pdfbase.pdfdoc import (
    PDFArray,
    PDFCrossReferenceTable,
    PDFDictionary,
    PDFDocument,
    PDFFile,
    PDFIndirectObject,
    PDFName,
    PDFObject,
    PDFObjectReference,
    PDFPage,
    PDFStream,
    PDFTrailer,
    PDFZCompress,
)
from reportlab.pdfgen.canvas import Canvas


class _Written(PDFObject):
    """Stands in the document's object table for an object already in the file."""


_WRITTEN = _Written()


class _ObjectWriter:
    """Writes a document's objects into `out` as they are finished, remembering where."""

    def __init__(self, doc: PDFDocument, out: BinaryIO) -> None:
        self._doc = doc
        self._file = PDFFile(doc._pdfVersion)  # reportlab's header, held until the first write
        self._header = b"".join(self._file.strings)
        self._out = out
        self._started = False

    def _add(self, data: bytes) -> int:
        if not self._started:  # the header goes out with the first object: a canvas that is
            # never saved leaves nothing behind in `out`
            self._started = True
            self._file.strings = []
            self._file.write = self._out.write
            self._out.write(self._header)
        return self._file.add(data)

    def _place(self, name: str, obj: PDFObject, data: bytes) -> None:
        if not rl_config.invariant and rl_config.pdfComments:  # as reportlab's own format
            self._add(f"% {name!a}: class {obj.__class__.__name__[:50]} \n".encode("latin-1"))
        self._doc.idToOffset[name] = self._add(data)
        self._doc.idToObject[name] = _WRITTEN

    def write(self, name: str) -> None:
        """Format object `name` now and write it; a forward reference raises KeyError first."""
        doc = self._doc
        obj = doc.idToObject[name]
        data = PDFIndirectObject(name, obj).format(doc)
        self._place(name, obj, data)

    def write_page(self, page: PDFPage) -> bool:
        """Write `page` and its content stream; False (nothing written) when the page refers to
        an object not defined yet."""
        try:
            self.write(page.__InternalName__)  # registered under it when it was added
        except KeyError:  # reportlab's "forward reference … not resolved"
            return False
        contents = page.Contents
        if isinstance(contents, PDFObject) and hasattr(contents, "__InternalName__"):
            self.write(contents.__InternalName__)
        return True

    def finish(self) -> bytes:
        """`PDFDocument.format` for what is left: every object not yet written, the cross-
        reference table and the trailer, written to `out`. Returns the empty rest, which
        reportlab's `SaveToFile` then writes."""
        doc = self._doc
        doc.encrypt.prepare(doc)
        cat, info = doc.Catalog, doc.info
        doc.Reference(cat)
        doc.Reference(info)
        ids = []
        counter = 0
        doc.__accum__ = self._file  # as reportlab: objects may ask where they are in the file
        while True:  # formatting may register more objects: the table grows as we go
            counter += 1
            if counter not in doc.numberToId:
                break
            name = doc.numberToId[counter]
            if doc.idToObject[name] is not _WRITTEN:
                self.write(name)
            ids.append(name)
        del doc.__accum__
        if counter - 1 != len(doc.numberToId):
            raise ValueError(f"object {counter - 1} of {len(doc.numberToId)} formatted")
        xref = PDFCrossReferenceTable()
        xref.addsection(0, ids)
        xref_offset = self._add(xref.format(doc))
        trailer = PDFTrailer(
            startxref=xref_offset,
            Size=len(doc.numberToId) + 1,
            Root=doc.Reference(cat),
            Info=doc.Reference(info),
            Encrypt=None,
            ID=doc.ID(),
        )
        self._add(trailer.format(doc))
        return b""


class StreamingCanvas(Canvas):
    def __init__(self, filename: BinaryIO, *args: object, **kwargs: object) -> None:
        super().__init__(filename, *args, **kwargs)
        if self._doc.encrypt.info() is not None or not hasattr(filename, "write"):
            raise ValueError("StreamingCanvas writes unencrypted documents into an open file")
        self._writer = _ObjectWriter(self._doc, filename)
        self._doc.format = self._writer.finish  # what `GetPDFData` calls at the save

    def showPage(self) -> None:
        super().showPage()
        pages = self._doc.Pages.pages
        page = pages[-1]
        if page.compression and not page.Contents and page.stream:
            # The stream PDFPage.check_format would make at the save, already encoded.
            deflate = PDFArray([PDFName(PDFZCompress.pdfname)])
            contents = PDFStream(
                PDFDictionary({"Filter": deflate}), PDFZCompress.encode(page.stream)
            )
            contents.__Comment__ = "page stream"
            page.Contents = contents
            page.stream = None
        if self._writer.write_page(page):
            pages[-1] = PDFObjectReference(page.__InternalName__)
