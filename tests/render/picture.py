"""Reading pictures for meaning in the renderer's tests: colour classes of the graph view's
nodes, connected blobs of a class, and X11 screenshots (xwd) as rows of (r, g, b)."""
import struct


def classify(p):
    """The node colour a pixel shows (sRGB 8-bit): 'red' input, 'blue' first hidden layer,
    'yellow' second, 'green' output, or None (background, links, text, halos' edges)."""
    r, g, b = p[0], p[1], p[2]
    if r > 120 and g < 90 and b < 90:
        return "red"
    if b > 120 and r < 90 and b > g + 40:
        return "blue"
    if r > 120 and g > 110 and b < 90 and abs(r - g) < 80:
        return "yellow"
    if g > 120 and r < 110 and b < 110 and g > r + 40:
        return "green"
    return None


def blobs(rows, min_area=6, box=None):
    """Counts 8-connected regions of each class with at least min_area pixels, within
    box = (x0, y0, x1, y1) if given. Returns {class: count}."""
    h, w = len(rows), len(rows[0])
    x0, y0, x1, y1 = box if box else (0, 0, w, h)
    cls = [[classify(rows[y][x]) if x0 <= x < x1 and y0 <= y < y1 else None
            for x in range(w)] for y in range(h)]
    seen = [[False] * w for _ in range(h)]
    counts = {}
    for y in range(y0, y1):
        for x in range(x0, x1):
            c = cls[y][x]
            if c is None or seen[y][x]:
                continue
            stack, area = [(x, y)], 0
            seen[y][x] = True
            while stack:
                px, py = stack.pop()
                area += 1
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        nx, ny = px + dx, py + dy
                        if 0 <= nx < w and 0 <= ny < h and not seen[ny][nx] and cls[ny][nx] == c:
                            seen[ny][nx] = True
                            stack.append((nx, ny))
            if area >= min_area:
                counts[c] = counts.get(c, 0) + 1
    return counts


def read_xwd(path):
    """An xwd dump (ZPixmap, 24/32 bits per pixel) as (width, height, rows of (r, g, b)).
    Rows are padded to bytes_per_line: read the header, not width × 4."""
    data = open(path, "rb").read()
    hdr = struct.unpack(">25I", data[:100])
    header_size, version, fmt, depth, width, height = hdr[:6]
    byte_order, bpp, bytes_per_line = hdr[7], hdr[11], hdr[12]
    red_mask, green_mask, blue_mask = hdr[14], hdr[15], hdr[16]
    ncolors = hdr[19]
    if version != 7 or fmt != 2 or bpp not in (24, 32):
        raise ValueError(f"{path}: unsupported xwd (version {version}, format {fmt}, {bpp} bpp)")
    off = header_size + ncolors * 12
    step = bpp // 8

    def shift(mask):
        s = 0
        while mask and not (mask >> s) & 1:
            s += 1
        return s
    rs, gs, bs = shift(red_mask), shift(green_mask), shift(blue_mask)
    rows = []
    for y in range(height):
        line = data[off + y * bytes_per_line: off + y * bytes_per_line + width * step]
        row = []
        for x in range(width):
            px = line[x * step:(x + 1) * step]
            v = int.from_bytes(px, "little" if byte_order == 0 else "big")
            row.append(((v & red_mask) >> rs, (v & green_mask) >> gs, (v & blue_mask) >> bs))
        rows.append(row)
    return width, height, rows
