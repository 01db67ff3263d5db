"""PDF watermark: a visible "Licensed to …" footer on every page and an invisible text token.

The footer tells an honest reader whose copy it is; the token (the whole codeword, in text render
mode 3, which draws nothing) survives re-saving, page extraction and merging by any tool that keeps
text, and cropping the footer away. Rasterising the pages removes the token; the footer stays.
"""

from __future__ import annotations

import ctypes
import io

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from delivery.watermark.payload import token_find

FOOTER_SIZE = 7.0
INVISIBLE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE


def _text_object(document: pdfium.PdfDocument, text: str, size: float, x: float, y: float) -> object:
    obj = pdfium_c.FPDFPageObj_NewTextObj(document.raw, b"Helvetica", ctypes.c_float(size))
    encoded = (text + "\0").encode("utf-16-le")
    buffer = ctypes.create_string_buffer(encoded, len(encoded))
    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buffer, ctypes.POINTER(pdfium_c.FPDF_WCHAR)))
    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
    return obj


def embed(data: bytes, *, token: str, notice: str) -> tuple[bytes, dict[str, float]]:
    document = pdfium.PdfDocument(data)
    try:
        pages = len(document)
        for index in range(pages):
            page = document[index]
            width, _height = page.get_size()
            left, bottom = page.get_cropbox()[:2]
            footer = _text_object(document, notice, FOOTER_SIZE, left + 18, bottom + 8)
            pdfium_c.FPDFPageObj_SetFillColor(footer, 90, 90, 90, 255)
            pdfium_c.FPDFPage_InsertObject(page.raw, footer)
            hidden = _text_object(document, token, 1.0, left + width / 2, bottom + 2)
            pdfium_c.FPDFTextObj_SetTextRenderMode(hidden, INVISIBLE)
            pdfium_c.FPDFPage_InsertObject(page.raw, hidden)
            if not pdfium_c.FPDFPage_GenerateContent(page.raw):
                raise ValueError("pdfium could not write the page content.")
            page.close()
        out = io.BytesIO()
        document.save(out)
    finally:
        document.close()
    return out.getvalue(), {"pages": pages}


def page_text(data: bytes, *, max_pages: int = 50) -> str:
    document = pdfium.PdfDocument(data)
    try:
        texts = []
        for index in range(min(len(document), max_pages)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return "\n".join(texts)
    finally:
        document.close()


def soft_bits(data: bytes) -> np.ndarray | None:
    return token_find(page_text(data))
