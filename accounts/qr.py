"""QR codes as PNG `data:` URIs (CSP allows `img-src data:`), without an imaging library.

`qrcode` computes the module matrix; the PNG (8-bit greyscale, zlib-compressed) is written here.
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


def matrix_to_png(matrix: list[list[bool]], scale: int = 6) -> bytes:
    """Dark modules black, light modules white; each module `scale` x `scale` pixels."""
    size = len(matrix) * scale
    scanlines = []
    for row in matrix:
        line = b"\x00" + bytes(0 if dark else 255 for dark in row for _ in range(scale))  # filter type 0
        scanlines.extend([line] * scale)
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(scanlines), 9))
        + _chunk(b"IEND", b"")
    )


def qr_png(data: str, scale: int = 6) -> bytes:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    return matrix_to_png(code.get_matrix(), scale=scale)


def qr_data_uri(data: str, scale: int = 6) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(data, scale=scale)).decode("ascii")
