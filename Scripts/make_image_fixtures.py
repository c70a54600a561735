#!/usr/bin/env python3
"""Writes the small image fixtures under Tests/ImageIOTests/Fixtures and prints the expected values the
tests quote.

PNG fixtures come from a tiny hand-written encoder (below) so every colour type / bit depth / interlace
mode libpng must convert is covered, with pixel content given by closed-form patterns the tests recompute.
JPEG fixtures are written by Pillow; the tests compare our libjpeg decoding with the pixels Pillow decodes
(printed here), within ±2 for decoder differences.

Run: /root/bench-venv/bin/python Scripts/make_image_fixtures.py
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ImageIOTests", "Fixtures")
W, H = 7, 5  # odd sizes: rows that are not a whole number of bytes, every Adam7 pass non-empty


def pattern_rgb(w=W, h=H):
    """The base RGB pattern, quoted in ImageIOTests: r=(37x+11y)%256, g=(5x+53y+20)%256, b=(13xy+7)%256."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(37 * x + 11 * y) % 256, (5 * x + 53 * y + 20) % 256, (13 * x * y + 7) % 256], axis=-1)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def pack_row(samples, bit_depth):
    """One scanline of integer samples at the given bit depth (MSB first for < 8 bits, big-endian for 16)."""
    samples = [int(s) for s in samples]
    if bit_depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if bit_depth == 8:
        return bytes(samples)
    per_byte = 8 // bit_depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        group = samples[i:i + per_byte]
        for j, s in enumerate(group):
            byte |= s << (8 - bit_depth * (j + 1))
        out.append(byte)
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def write_png(name, samples, color_type, bit_depth, palette=None, trns=None, interlace=False):
    """samples: h×w×channels integers. Filter type 0 on every scanline."""
    h, w = samples.shape[:2]
    flat = samples.reshape(h, w, -1)
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            for y in range(y0, h, dy):
                xs = range(x0, w, dx)
                if len(xs) == 0:
                    continue
                raw += b"\x00" + pack_row(flat[y, x0::dx].reshape(-1), bit_depth)
    else:
        for y in range(h):
            raw += b"\x00" + pack_row(flat[y].reshape(-1), bit_depth)
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    png += chunk(b"IEND", b"")
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(png)


def main():
    os.makedirs(OUT, exist_ok=True)
    rgb = pattern_rgb()
    y, x = np.mgrid[0:H, 0:W]
    gray = (37 * x + 11 * y) % 256
    alpha = (x * 40 + y * 7) % 256

    write_png("rgb8.png", rgb, 2, 8)
    write_png("rgb8_interlaced.png", rgb, 2, 8, interlace=True)
    write_png("rgba8.png", np.concatenate([rgb, alpha[..., None]], axis=-1), 6, 8)
    write_png("gray8.png", gray, 0, 8)
    write_png("gray_alpha8.png", np.stack([gray, alpha], axis=-1), 4, 8)
    write_png("gray1.png", (x + 2 * y) % 3 == 0, 0, 1)          # 1-bit: ink where (x+2y)%3==0
    # 16-bit: v16 = 256·v8 + low, low = (31x+17y)%256; expected 8-bit value round(v16/257) (never a tie).
    low = (31 * x + 17 * y) % 256
    write_png("gray16.png", gray * 256 + low, 0, 16)
    write_png("rgb16.png", rgb * 256 + low[..., None], 2, 16)
    palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 200, 10), (30, 40, 50)]
    index = (x + y) % 5
    write_png("palette4_trns.png", index, 3, 4, palette=palette, trns=bytes([0, 128, 255, 60, 255]))

    # JPEG fixtures: a smooth 16×12 image (JPEG is lossy; smooth content keeps decoders within ±1).
    jy, jx = np.mgrid[0:12, 0:16]
    smooth = np.stack([jx * 15 + 10, jy * 20 + 5, 200 - jx * 6 - jy * 5], axis=-1).astype(np.uint8)
    Image.fromarray(smooth, "RGB").save(os.path.join(OUT, "rgb.jpg"), quality=90)  # 4:2:0, the common case
    Image.fromarray(smooth[..., 0], "L").save(os.path.join(OUT, "gray.jpg"), quality=90)
    Image.fromarray(smooth, "RGB").convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=95)
    Image.fromarray(smooth, "RGB").save(os.path.join(OUT, "progressive.jpg"), quality=90, progressive=True)

    probes = [(0, 0), (5, 3), (15, 0), (0, 11), (15, 11), (8, 6)]
    for name in ["rgb.jpg", "gray.jpg", "cmyk.jpg", "progressive.jpg"]:
        im = Image.open(os.path.join(OUT, name))
        mode = im.mode
        rgb_im = np.asarray(im.convert("RGB"))
        values = ", ".join(f"({px}, {py}, {tuple(int(v) for v in rgb_im[py, px])})" for px, py in probes)
        print(f"{name} ({mode}): np.asarray(Image.open('{name}').convert('RGB'))[y, x] at (x, y): {values}")


if __name__ == "__main__":
    main()
