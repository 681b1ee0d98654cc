"""A self-contained SVG flame graph (no flame-graph tool is packaged in Debian).

Input: folded counts, {stack (root first): samples}. Each box is a function in
a stack; its width is the share of samples with that stack prefix, callers
below callees. Hover shows name, samples and share; a click zooms into a box
(a small inline script; the SVG stays readable without it), a click on the
bottom bar zooms out.
"""
import hashlib
from xml.sax.saxutils import escape

FRAME_H = 17
FONT = 11
CHAR_W = 6.6      # average monospace glyph width at FONT
PAD_TOP = 44
PAD_SIDE = 10

SCRIPT = """
var W = %(width)d - 2 * %(pad)d, X0 = %(pad)d, CW = %(charw)s;
function fit(g, w) {
  var t = g.querySelector('text'), n = g.getAttribute('data-n');
  var k = Math.floor((w - 6) / CW);
  t.textContent = k < 3 ? '' : (n.length <= k ? n : n.slice(0, k - 2) + '..');
}
function zoom(target) {
  var tx = +target.getAttribute('data-x'), tw = +target.getAttribute('data-w');
  var td = +target.getAttribute('data-d');
  document.querySelectorAll('g.f').forEach(function (g) {
    var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w');
    var d = +g.getAttribute('data-d'), r = g.querySelector('rect');
    var inside = x >= tx - 1e-9 && x + w <= tx + tw + 1e-9;
    var below = d < td && x <= tx + 1e-9 && x + w >= tx + tw - 1e-9;
    if (!(inside || below)) { g.style.display = 'none'; return; }
    g.style.display = '';
    var nx = below ? X0 : X0 + (x - tx) / tw * W, nw = below ? W : w / tw * W;
    r.setAttribute('x', nx); r.setAttribute('width', Math.max(nw - 0.5, 0.1));
    g.querySelector('text').setAttribute('x', nx + 3); fit(g, nw);
  });
}
document.querySelectorAll('g.f').forEach(function (g) {
  g.addEventListener('click', function () { zoom(g); });
});
"""


def _color(name):
    if name.startswith("["):   # [malformed: ...], [outside the image]
        return "rgb(170,170,170)"
    h = hashlib.md5(name.encode()).digest()
    return f"rgb({205 + h[0] % 50},{h[1] % 200 + 20},{h[2] % 55})"


class _Node:
    __slots__ = ("name", "value", "children")

    def __init__(self, name):
        self.name, self.value, self.children = name, 0, {}


def _tree(counts):
    root = _Node("all")
    for stack, c in counts.items():
        root.value += c
        node = root
        for name in stack:
            node = node.children.setdefault(name, _Node(name))
            node.value += c
    return root


def _depth(node):
    return 1 + max((_depth(c) for c in node.children.values()), default=0)


def render(counts, title, subtitle="", width=1200):
    root = _tree(counts)
    total = root.value or 1
    depth = _depth(root)
    height = PAD_TOP + depth * FRAME_H + 30
    inner = width - 2 * PAD_SIDE
    out = [f'<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="monospace" font-size="{FONT}">',
           '<style>g.f:hover rect { stroke: black; stroke-width: 0.5; cursor: pointer; }</style>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="rgb(250,250,245)"/>',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="15">{escape(title)}</text>',
           f'<text x="{width / 2}" y="34" text-anchor="middle" fill="rgb(90,90,90)">'
           f'{escape(subtitle)}</text>']

    def emit(node, x, d):
        w = node.value / total * inner
        if w < 0.2:
            return
        y = height - 30 - (d + 1) * FRAME_H
        pct = 100.0 * node.value / total
        k = int((w - 6) / CHAR_W)
        label = "" if k < 3 else (node.name if len(node.name) <= k else node.name[:k - 2] + "..")
        frac_x, frac_w = (x - PAD_SIDE) / inner, w / inner
        out.append(
            f'<g class="f" data-n="{escape(node.name, {chr(34): "&quot;"})}" '
            f'data-x="{frac_x:.6f}" data-w="{frac_w:.6f}" data-d="{d}">'
            f'<title>{escape(node.name)} ({node.value} samples, {pct:.2f}%)</title>'
            f'<rect x="{x:.2f}" y="{y}" width="{max(w - 0.5, 0.1):.2f}" height="{FRAME_H - 1}" '
            f'rx="2" fill="{_color(node.name)}"/>'
            f'<text x="{x + 3:.2f}" y="{y + FRAME_H - 5}">{escape(label)}</text></g>')
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            emit(child, cx, d + 1)
            cx += child.value / total * inner
    emit(root, PAD_SIDE, 0)
    out.append(f'<text x="{PAD_SIDE}" y="{height - 10}" fill="rgb(90,90,90)">{total} samples; '
               'width = share of samples, callers below callees; click a box to zoom, the '
               'bottom bar to reset</text>')
    script = SCRIPT % {"width": width, "pad": PAD_SIDE, "charw": CHAR_W}
    out.append(f"<script><![CDATA[{script}]]></script>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
