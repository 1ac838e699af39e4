"""The small markdown renderer for the prose of report pages: escapes everything it does not
understand, so text cannot inject markup, and keeps every link inside the page's folder."""
from __future__ import annotations

import html
import re

_INLINE_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EM = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_OUTSIDE = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.I)


def inline(text: str) -> str:
    codes: list[str] = []

    def keep_code(m):
        codes.append(f"<code>{html.escape(m.group(1))}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _INLINE_CODE.sub(keep_code, text)
    links: list[str] = []

    def keep_link(m):
        label, target = m.group(1), m.group(2)
        if _OUTSIDE.match(target) or target.startswith("\\"):
            # the page refers to nothing outside itself: show outside addresses as text
            links.append(f"{html.escape(label)} ({html.escape(target)})")
        else:
            links.append(f'<a href="{html.escape(target, quote=True)}">{html.escape(label)}</a>')
        return f"\x01{len(links) - 1}\x01"

    text = _LINK.sub(keep_link, text)
    text = html.escape(text, quote=False)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _EM.sub(r"<em>\1</em>", text)
    text = re.sub("\x01(\\d+)\x01", lambda m: links[int(m.group(1))], text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def render_markdown(text: str) -> str:
    """Markdown-ish text to HTML (returned as a string of trusted markup).

    Understood: paragraphs (blank lines between), `#`/`##`/`###` headings (rendered below the
    section's own heading level), `- ` or `* ` bullet lists, `1. ` numbered lists, `> ` quotes,
    fenced ``` code blocks, and inline `code`, **bold**, *emphasis* and [text](relative/link).
    Everything else is escaped, so text cannot inject markup. Links to outside addresses
    (http:, https:, //...) are shown as text, since the page refers to nothing outside itself.
    """
    if not text:
        return ""
    lines = str(text).replace("\r\n", "\n").strip("\n").split("\n")
    out: list[str] = []
    para: list[str] = []
    items: list[str] = []
    list_kind = ""

    def flush_para():
        if para:
            out.append("<p>" + inline(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    def flush_list():
        nonlocal list_kind
        if items:
            out.append(f"<{list_kind}>" + "".join(f"<li>{inline(i)}</li>" for i in items)
                       + f"</{list_kind}>")
            items.clear()
        list_kind = ""

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush_para()
            flush_list()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(block)) + "</code></pre>")
        elif not stripped:
            flush_para()
            flush_list()
        elif m := re.match(r"^(#{1,3})\s+(.*)$", stripped):
            flush_para()
            flush_list()
            level = len(m.group(1)) + 2
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
        elif m := re.match(r"^([-*]|\d+[.)])\s+(.*)$", stripped):
            flush_para()
            kind = "ul" if m.group(1) in "-*" else "ol"
            if list_kind and kind != list_kind:
                flush_list()
            list_kind = kind
            items.append(m.group(2))
        elif stripped.startswith(">"):
            flush_para()
            flush_list()
            out.append("<blockquote><p>" + inline(stripped.lstrip("> ")) + "</p></blockquote>")
        elif items and line[:1] in (" ", "\t"):
            items[-1] += " " + stripped
        else:
            flush_list()
            para.append(stripped)
        i += 1
    flush_para()
    flush_list()
    return "\n".join(out)

