"""The small markdown renderer (gankit.report.markdown)."""
from __future__ import annotations

from gankit.report import render_markdown


def test_markdown_escapes_and_keeps_links_local():
    out = render_markdown("# Title\n\nA <b>tag</b> & **bold** and `x<y`\n\n- [local](a/b.png)\n- [far](http://e.x)")
    assert "&lt;b&gt;tag&lt;/b&gt; &amp; <strong>bold</strong>" in out
    assert "<code>x&lt;y</code>" in out and "<h3>Title</h3>" in out
    assert '<a href="a/b.png">local</a>' in out and 'href="http' not in out
