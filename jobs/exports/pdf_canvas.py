"""A reportlab canvas that compresses each page as it is finished.

reportlab keeps every page of a document until it saves, and compresses the pages only then: a
long book would hold its page streams several times the size of the file. This canvas deflates
each page when it is done, so the memory held is about the size of the file. It leaves out the
ASCII85 layer reportlab adds by default (`useA85`): binary streams are a fifth smaller, and
encoding them to ASCII took a tenth of a book's rendering time.
"""

from __future__ import annotations

from reportlab.pdfbase.pdfdoc import PDFArray, PDFDictionary, PDFName, PDFStream, PDFZCompress
from reportlab.pdfgen.canvas import Canvas


class CompressingCanvas(Canvas):
    def showPage(self) -> None:
        super().showPage()
        page = self._doc.Pages.pages[-1]
        if not page.compression or page.Contents or not page.stream:
            return
        # The stream PDFPage.check_format would make at the save, already encoded.
        deflate = PDFArray([PDFName(PDFZCompress.pdfname)])
        contents = PDFStream(PDFDictionary({"Filter": deflate}), PDFZCompress.encode(page.stream))
        contents.__Comment__ = "page stream"
        page.Contents = contents
        page.stream = None
