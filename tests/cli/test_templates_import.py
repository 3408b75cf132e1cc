"""The `library` template is what other components import: a new library and a new `http`
component importing its interface, in different languages, built and served by `up`, a real
request answered through both (the handler counts the words of its path with the library)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.cli import BIN, wasmesh
from tests.support.processes import Served

IMPORT = "import textlib:component/text@0.1.0;"

# How each language's http template calls the library: (pattern in the template's source,
# replacement), applied once.
CALLS = {
    "c": (
        r"int len = snprintf\(text, [^;]*;",
        "for (size_t i = 0; i < path.len; i++) if (path.ptr[i] == '/') path.ptr[i] = ' ';\n"
        "  textlib_component_text_stats_t stats;\n"
        "  textlib_component_text_count(&path, &stats);\n"
        '  int len = snprintf(text, path.len + 64, "%u words, %u chars\\n", stats.words, '
        "stats.chars);",
    ),
    "python": (
        r'body = f"hello from page: [^\n]*',
        "stats = text.count((request.path_with_query() or '/').replace('/', ' '))\n"
        '        body = f"{stats.words} words, {stats.chars} chars\\n".encode()',
    ),
    "js": (
        r"return new Response\(`hello from page: [^`]*`",
        "const stats = count(`${url.pathname}${url.search}`.replaceAll('/', ' '));\n"
        "  return new Response(`${stats.words} words, ${stats.chars} chars\\n`",
    ),
}
HEADERS = {
    "c": "",
    "python": "from wit_world.imports import text\n",
    "js": 'import { count } from "textlib:component/text@0.1.0";\n',
}
SOURCES = {"c": "component.c", "python": "app.py", "js": "app.js"}


def import_library(page: Path, library: Path, lang: str) -> None:
    """Make the http component `page` import the library's `text` interface and use it."""
    shutil.copytree(library / "wit", page / "wit" / "deps" / "textlib")
    world = page / "wit" / "world.wit"
    text = world.read_text()
    world.write_text(re.sub(r"(include wasi:http/proxy@[\d.]+;)", rf"\1\n  {IMPORT}", text))
    source = page / SOURCES[lang]
    pattern, replacement = CALLS[lang]
    code, n = re.subn(pattern, lambda _: replacement, source.read_text(), count=1)
    assert n == 1, f"the {lang} http template changed; update CALLS"
    source.write_text(HEADERS[lang] + code)


@pytest.mark.slow
@pytest.mark.parametrize(("library_lang", "page_lang"), [("c", "python"), ("python", "c")])
def test_an_http_component_imports_a_new_library(
    tmp_path: Path, library_lang: str, page_lang: str
) -> None:
    root = tmp_path / "app"
    for name, lang, template in (("textlib", library_lang, "library"), ("page", page_lang, "http")):
        made = wasmesh("new", name, "--lang", lang, "--template", template, "--app", root)
        assert made.code == 0, made.err
    import_library(root / "page", root / "textlib", page_lang)
    built = wasmesh("build", root, "--json")
    assert built.code == 0, built.err
    graph = wasmesh("graph", root, "--format", "tree")
    assert graph.code == 0 and "textlib" in graph.out, graph.err
    served = Served([str(BIN / "wasmesh"), "up", str(root), "--listen", "127.0.0.1:0"])
    try:
        status, _, body = served.request("GET", "/page/two/words")
    finally:
        served.stop()
    assert (status, body) == (200, b"3 words, 15 chars\n")
