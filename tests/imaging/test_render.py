"""Server-side rendering: modality LUT (rescale), windowing, VOI LUT, MONOCHROME1, colour,
multi-frame and compressed transfer syntaxes (pylibjpeg plugins), all from pydicom's own files."""

from __future__ import annotations

import io
import os

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset

from imaging.render import RenderError, Window, render_dataset, render_frame, window_pixels
from tests.imaging.imaging_helpers import TEST_FILES, shipped, synthetic_ct


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_ct_is_drawn_grey_at_its_size():
    image = _png(render_frame(shipped("CT_small.dcm")))
    assert (image.mode, image.size) == ("L", (128, 128))
    assert np.asarray(image).std() > 10


def test_rescale_slope_and_intercept_give_hounsfield_units_before_windowing():
    pixels = np.full((8, 8), 1000, dtype=np.uint16)  # stored 1000 -> 1000 * 1 - 1024 = -24 HU
    data = synthetic_ct(rows=8, columns=8, pixels=pixels, window=None)
    centred = np.asarray(_png(render_frame(data, window=Window(-24, 100))))
    assert 120 <= int(centred.mean()) <= 135  # -24 HU sits in the middle of a window centred on it
    above = np.asarray(_png(render_frame(data, window=Window(-500, 100))))
    assert int(above.min()) == 255  # far above the window: white
    doubled = synthetic_ct(rows=8, columns=8, pixels=pixels, slope=2.0, intercept=-1024, window=None)
    assert int(np.asarray(_png(render_frame(doubled, window=Window(976, 100)))).mean()) in range(120, 136)


def test_window_formula_follows_the_standard():
    values = np.array([-1000.0, 39.5, 40.0, 1000.0])
    out = window_pixels(values, Window(40, 400))
    assert list(out[[0, 3]]) == [0, 255]
    assert 125 <= out[2] <= 130


def test_file_window_is_used_by_default_and_a_preset_changes_the_image():
    mr = shipped("MR_small.dcm")
    default = np.asarray(_png(render_frame(mr)))
    narrow = np.asarray(_png(render_frame(mr, window=Window(600, 200))))
    assert not np.array_equal(default, narrow)


def test_monochrome1_is_inverted():
    pixels = np.tile(np.arange(0, 4096, 64, dtype=np.uint16), (64, 1))
    mono2 = np.asarray(_png(render_frame(synthetic_ct(rows=64, columns=64, pixels=pixels))))
    mono1 = np.asarray(_png(render_frame(synthetic_ct(rows=64, columns=64, pixels=pixels, photometric="MONOCHROME1"))))
    assert np.array_equal(mono1, 255 - mono2)


def test_voi_lut_sequence_is_applied():
    ds = pydicom.dcmread(os.path.join(TEST_FILES, "CT_small.dcm"))
    item = Dataset()
    item.LUTDescriptor = [256, 0, 16]
    item.LUTData = [min(4095, 16 * i) for i in range(256)][::-1]  # a descending LUT inverts the image
    ds.VOILUTSequence = [item]
    plain = np.asarray(_png(render_dataset(pydicom.dcmread(os.path.join(TEST_FILES, "CT_small.dcm")))))
    voi = np.asarray(_png(render_dataset(ds)))
    assert np.corrcoef(plain.ravel(), voi.ravel())[0, 1] < 0


@pytest.mark.parametrize(
    "name", ["SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm", "examples_rgb_color.dcm", "examples_palette.dcm"]
)
def test_colour_images_are_drawn_in_rgb(name):
    image = _png(render_frame(shipped(name)))
    assert image.mode == "RGB"
    channels = np.asarray(image).reshape(-1, 3).astype(int)
    assert np.abs(channels[:, 0] - channels[:, 1]).max() > 20  # really colour, not grey in three channels


def test_each_frame_of_a_multiframe_ultrasound_is_drawn_and_frames_past_the_end_are_refused():
    data = shipped("examples_ybr_color.dcm")  # 30 frames, JPEG baseline, YBR_FULL_422
    first, last = _png(render_frame(data, frame=0)), _png(render_frame(data, frame=29))
    assert first.size == last.size == (320, 240)
    assert not np.array_equal(np.asarray(first), np.asarray(last))
    with pytest.raises(RenderError):
        render_frame(data, frame=30)


@pytest.mark.parametrize(
    ("compressed", "reference"),
    [
        ("MR_small_RLE.dcm", "MR_small.dcm"),
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ],
)
def test_lossless_compressed_files_render_exactly_like_the_uncompressed_one(compressed, reference):
    assert np.array_equal(
        np.asarray(_png(render_frame(shipped(compressed)))), np.asarray(_png(render_frame(shipped(reference))))
    )


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "JPGExtended.dcm", "693_J2KI.dcm", "SC_rgb_jpeg_gdcm.dcm"])
def test_jpeg_and_jpeg_2000_files_are_decoded(name):
    image = _png(render_frame(shipped(name)))
    assert image.size[0] > 0 and np.asarray(image).std() > 1


def test_a_thumbnail_is_at_most_the_size_asked():
    assert max(_png(render_frame(shipped("693_J2KI.dcm"), max_px=160)).size) == 160


def test_objects_without_pixels_and_garbage_are_refused_with_a_reason():
    with pytest.raises(RenderError, match="holds no image"):
        render_frame(shipped("rtplan.dcm"))
    with pytest.raises(RenderError):
        render_frame(b"not dicom at all")
