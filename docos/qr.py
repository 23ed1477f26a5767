"""QR codes as small PNG images, for PDFs (served by the PDF URL fetcher) and pages (`data:` URIs).

`qrcode` computes the module matrix; the PNG (1-bit greyscale, zlib-compressed) is written here,
so no imaging library is involved and the output is deterministic for a given text.
"""

from __future__ import annotations

import base64
import struct
import zlib

import qrcode
from qrcode.constants import ERROR_CORRECT_M

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def matrix_png(matrix: list[list[bool]], *, scale: int = 4) -> bytes:
    """A 1-bit greyscale PNG: dark modules black, light ones white, each `scale` x `scale` pixels."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    size = len(matrix) * scale
    rows = []
    for row in matrix:
        bits = "".join(("0" if dark else "1") * scale for dark in row)
        bits += "1" * (-len(bits) % 8)  # pad the scanline to whole bytes (white)
        packed = int(bits, 2).to_bytes(len(bits) // 8, "big")
        rows.extend([b"\x00" + packed] * scale)  # filter type 0 per scanline
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def qr_png(text: str, *, scale: int = 4, border: int = 2) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(text)
    code.make(fit=True)
    return matrix_png(code.get_matrix(), scale=scale)


def qr_data_uri(text: str, *, scale: int = 4) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(text, scale=scale)).decode("ascii")
