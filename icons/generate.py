"""Draws Bouquet's app icon (a five-petal flower on a rose disc) as RGBA PNGs.

Pure Python (zlib + struct), so it runs on a fresh machine; `python3 icons/generate.py`
rewrites the files Tauri embeds."""
import math, struct, zlib, os

def png(size):
    rows = []
    c = (size - 1) / 2
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            dx, dy = (x - c) / size, (y - c) / size
            r = math.hypot(dx, dy)
            a = math.atan2(dy, dx)
            petal = 0.30 + 0.10 * math.cos(5 * a)
            if r < 0.07:
                px = (250, 214, 120, 255)          # heart
            elif r < petal * 0.95:
                px = (255, 246, 248, 255)          # petals
            elif r < 0.48:
                px = (180, 70, 106, 255)           # rose disc
            else:
                px = (0, 0, 0, 0)
            row += bytes(px)
        rows.append(bytes(row))
    raw = b"".join(rows)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")

here = os.path.dirname(os.path.abspath(__file__))
for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    with open(os.path.join(here, name), "wb") as f:
        f.write(png(size))
