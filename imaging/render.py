"""Server-side rendering of one DICOM frame to PNG, the way a radiology viewer shows it.

Grey-scale images: stored values -> Modality LUT (Rescale Slope/Intercept, or the Modality LUT
Sequence) -> VOI (the window asked for; else the file's VOI LUT Sequence; else its first Window
Center/Width; else the frame's own min..max) -> 8 bits, inverted for MONOCHROME1. Colour images
(RGB, YBR_* converted to RGB by pydicom, PALETTE COLOR through its LUT) are scaled to 8 bits per
channel. Multi-frame files give the frame asked for. Compressed transfer syntaxes (JPEG
baseline/extended/lossless, JPEG-LS, JPEG 2000, RLE) are decoded by pydicom's decoders with the
pylibjpeg plugins.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

from imaging.dicom import read_dataset

THUMBNAIL_PX = 160
# The largest frame rendered: 64 Mi samples (an 8192 x 8192 RGB radiograph fits; memory is a few times this).
MAX_RENDER_SAMPLES = 64 * 1024 * 1024


class RenderError(Exception):
    """The frame cannot be drawn; the message says why (no PHI)."""


@dataclass(frozen=True)
class Window:
    center: float
    width: float


def _frame_pixels(ds: Dataset, frame: int) -> np.ndarray:
    frames = int(ds.get("NumberOfFrames") or 1)
    if frame < 0 or frame >= max(frames, 1):
        raise RenderError("No such frame in this image.")
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise RenderError("This DICOM object holds no image (a report, a plan or a structured document).")
    # Decoding allocates Rows x Columns x Samples per frame whatever the file's size: a small RLE file can
    # claim 65535 x 65535 and take gigabytes. Refuse before decoding.
    size = int(ds.get("Rows") or 0) * int(ds.get("Columns") or 0) * int(ds.get("SamplesPerPixel") or 1)
    if size > MAX_RENDER_SAMPLES:
        raise RenderError("This image is too large to display here; download the original to view it.")
    try:
        from pydicom.pixels import pixel_array

        return pixel_array(ds, index=frame if frames > 1 else None)
    except Exception as exc:
        raise RenderError("The image data could not be decoded (unsupported or damaged compression).") from exc


def _to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        high = low + 1.0
    scaled = (values.astype(np.float32) - low) * (255.0 / (high - low))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def window_pixels(values: np.ndarray, window: Window) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2.1 linear windowing to 0..255."""
    c, w = window.center, max(window.width, 1.0)
    low = c - 0.5 - (w - 1) / 2
    high = c - 0.5 + (w - 1) / 2
    out = (values.astype(np.float32) - (c - 0.5)) / max(w - 1, 1.0) + 0.5
    out = np.where(values <= low, 0.0, np.where(values > high, 1.0, out))
    return np.clip(out * 255.0, 0, 255).astype(np.uint8)


def _file_window(ds: Dataset) -> Window | None:
    """The file's first Window Center/Width pair, when it has a usable one."""
    centre, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if isinstance(centre, MultiValue):
        centre = centre[0] if len(centre) else None
    if isinstance(width, MultiValue):
        width = width[0] if len(width) else None
    try:
        window = Window(float(centre), float(width))
    except (TypeError, ValueError):
        return None
    return window if window.width >= 1 else None


def _grey(ds: Dataset, pixels: np.ndarray, window: Window | None) -> np.ndarray:
    values = apply_modality_lut(pixels, ds)
    if window is not None:
        out = window_pixels(values, window)
    elif "VOILUTSequence" in ds:
        # The LUT is indexed by the (integer) output of the modality transform.
        stored = np.rint(values).astype(np.int32) if values.dtype.kind == "f" else values
        voi = apply_voi_lut(stored, ds, index=0)
        out = _to_uint8(voi, float(np.min(voi)), float(np.max(voi)))
    elif (file_window := _file_window(ds)) is not None:
        out = window_pixels(values, file_window)
    else:
        out = _to_uint8(values, float(np.min(values)), float(np.max(values)))
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = 255 - out
    return out


def _colour(ds: Dataset, pixels: np.ndarray) -> np.ndarray:
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, ds)
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 8)
    if photometric == "PALETTE COLOR":
        bits = 16 if pixels.dtype.itemsize > 1 else 8
    if pixels.dtype == np.uint8:
        return pixels
    return np.clip(pixels.astype(np.float64) * (255.0 / ((1 << bits) - 1)), 0, 255).astype(np.uint8)


def render_dataset(ds: Dataset, *, frame: int = 0, window: Window | None = None, max_px: int | None = None) -> bytes:
    """One frame of a parsed dataset as PNG bytes (8-bit grey or RGB)."""
    pixels = _frame_pixels(ds, frame)
    samples = int(ds.get("SamplesPerPixel") or 1)
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    try:
        if samples == 1 and photometric != "PALETTE COLOR":
            if pixels.ndim != 2:
                raise RenderError("Unexpected pixel layout for a grey-scale frame.")
            image = Image.fromarray(_grey(ds, pixels, window), mode="L")
        else:
            rgb = _colour(ds, pixels)
            if rgb.ndim != 3 or rgb.shape[-1] != 3:
                raise RenderError("Unexpected pixel layout for a colour frame.")
            image = Image.fromarray(np.ascontiguousarray(rgb), mode="RGB")
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError("The image could not be converted for display.") from exc
    if max_px and max(image.size) > max_px:
        image.thumbnail((max_px, max_px))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def render_frame(data: bytes, *, frame: int = 0, window: Window | None = None, max_px: int | None = None) -> bytes:
    """One frame of a DICOM file's bytes as PNG bytes. Raises RenderError."""
    try:
        ds = read_dataset(data, stop_before_pixels=False)
    except Exception as exc:
        raise RenderError("The file could not be read as DICOM.") from exc
    return render_dataset(ds, frame=frame, window=window, max_px=max_px)
