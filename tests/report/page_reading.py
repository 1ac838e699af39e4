"""Reading a report page as a program would: the standard library's HTML parser builds a small
tree, and the checks below say what every page must be (well formed, self-contained, every
picture decodable at its stated size, linked and described)."""
from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from PIL import Image

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
URL_ATTRS = {"src", "href", "action", "formaction", "poster", "data", "srcset", "background", "cite",
             "xlink:href", "ping", "manifest"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children: list[Node] = []
        self.text_parts: list[str] = []

    @property
    def text(self) -> str:
        parts = list(self.text_parts)
        for child in self.children:
            parts.append(child.text)
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def iter(self, tag=None):
        for child in self.children:
            if tag is None or child.tag == tag:
                yield child
            yield from child.iter(tag)

    def find(self, tag=None, **attrs):
        for node in self.iter(tag):
            if all(node.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                return node
        return None

    def ancestor(self, tag):
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class TreeBuilder(HTMLParser):
    """Builds a tree, and records any end tag that does not close the open element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.current = self.root
        self.errors: list[str] = []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.current.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.current.tag}>")
            return
        self.current = self.current.parent

    def handle_data(self, data):
        self.current.text_parts.append(data)


def parse(path: Path) -> Node:
    builder = TreeBuilder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    assert builder.doctype and builder.doctype.lower() == "doctype html"
    assert builder.errors == []
    assert builder.current is builder.root, f"<{builder.current.tag}> left open"
    return builder.root


def page_data(root: Node) -> dict:
    block = root.find("script", id="gankit-report-data")
    assert block is not None and block.attrs.get("type") == "application/json"
    return json.loads(block.text)


def table_rows(table: Node) -> list[Node]:
    return list(table.find("tbody").iter("tr"))


def cells_of(row: Node) -> list[Node]:
    return [c for c in row.children if c.tag in ("th", "td")]


def notes_text(root: Node) -> str:
    return " | ".join(n.text for n in root.iter() if "note" in n.attrs.get("class", "").split())


def assert_self_contained(root: Node, html_path: Path) -> None:
    """Nothing refers to an outside address; every relative link names a file beside the page."""
    ids = {n.attrs["id"] for n in root.iter() if "id" in n.attrs}
    for node in root.iter():
        assert node.tag not in ("link", "iframe", "object", "embed", "base", "frame"), node.tag
        if node.tag == "script":
            assert "src" not in node.attrs
        for name, value in node.attrs.items():
            if name == "style" or name.startswith("on"):
                raise AssertionError(f"inline {name} attribute on <{node.tag}>")
            if name not in URL_ATTRS:
                continue
            value = value or ""
            if name == "src":
                assert node.tag == "img" and value.startswith("data:image/"), value[:40]
                continue
            assert not value.startswith("//") and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", value), value
            if value.startswith("#"):
                assert value[1:] in ids, f"anchor {value} has no target"
            else:
                target = (html_path.parent / value.split("#")[0]).resolve()
                assert target.exists(), f"link {value} names no file"
    for style in root.iter("style"):
        css = style.text.lower()
        assert "url(" not in css and "@import" not in css and "http" not in css


def check_images(root: Node) -> list[Node]:
    """Every embedded picture decodes to the size its attributes state; returns the <img>s."""
    images = list(root.iter("img"))
    for img in images:
        header, _, payload = img.attrs["src"].partition(",")
        assert header.startswith("data:image/") and header.endswith(";base64")
        with Image.open(io.BytesIO(base64.b64decode(payload, validate=True))) as picture:
            picture.load()
            size = picture.size
            frames = getattr(picture, "n_frames", 1)
        assert size == (int(img.attrs["data-width"]), int(img.attrs["data-height"]))
        assert size == (int(img.attrs["width"]), int(img.attrs["height"]))
        assert frames == int(img.attrs["data-frames"])
        assert img.attrs.get("alt", "").strip(), "picture without alt text"
        figure = img.ancestor("figure")
        assert figure is not None and figure.find("figcaption") is not None
        assert img.parent.tag == "a" and img.parent.attrs["href"]  # linked to its file
    return images
