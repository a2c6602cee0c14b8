"""mkdocs hook of the gocurrent site: generates what must not be copied by hand.

* **API reference**: one page per public module of ``python/gocurrent/``
  (every ``*.py``/``*.pyi`` whose name does not start with ``_``, except the
  tour's CLI), rendered by mkdocstrings from the stubs and docstrings. A new
  module gets its page without any change here; ``MODULE_ORDER`` only orders
  them and ``TOP_LEVEL_GROUPS`` only groups the names of ``gocurrent``.
* **Every public name documented**: each exported name of each public module,
  and each public method, property or attribute of an exported class, must
  have a docstring (an attribute may instead be named, as ````name````, in
  its class's docstring); a missing one is a warning, which fails
  ``mkdocs build --strict``.
* **Go side by side**: ``<!-- side-by-side: NAME -->`` in a page becomes the
  article's Go program (the first Go block of the docstring of
  ``examples/NAME.py``) beside the Python twin (the script's code);
  ``<!-- python: NAME -->`` the script's code alone, and
  ``<!-- python: NAME#Class.method -->`` one function or class of it.
* **Benchmark charts**: ``<!-- bench-charts -->`` becomes every chart that
  ``scripts/plot-bench.py`` drew into ``docs/assets/bench/``.
"""

from __future__ import annotations

import ast
import logging
import re
from pathlib import Path
from typing import Any

import griffe
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.gocurrent")

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT / "python" / "gocurrent"
EXAMPLES_DIR = ROOT / "examples"
CHARTS_DIR = ROOT / "docs" / "assets" / "bench"

# Modules that are not API: the tour is a command (python -m gocurrent.tour).
NOT_API = {"tour"}
# The order of the API pages; modules not listed follow, alphabetically.
MODULE_ORDER = ["gocurrent", "context", "errgroup", "atomic", "runtime", "testing"]
# Sections of the gocurrent page; exported names not listed go under "Other".
TOP_LEVEL_GROUPS: dict[str, list[str]] = {
    "Goroutines": ["go"],
    "Channels": ["Chan", "nilchan", "ChanClosedError"],
    "select": ["select", "select_async"],
    "Timers": ["after", "tick", "Timer", "Ticker", "after_func"],
    "sync": [
        "WaitGroup",
        "Mutex",
        "RWMutex",
        "Cond",
        "Once",
        "once_func",
        "once_value",
        "Map",
        "Semaphore",
    ],
    "Error groups": ["ErrGroup"],
    "Version": ["__version__"],
}
# Chart captions by benches/results/ file name; others are captioned by name.
CHART_CAPTIONS = {
    "idle": "No added load (benches/results/idle.json)",
    "hogs2": "Loaded: two CPU hogs run beside the benchmark (benches/results/hogs2.json)",
}


def public_modules() -> list[str]:
    """Public submodules of gocurrent, in page order (``gocurrent`` first)."""
    names = {
        p.stem
        for p in PACKAGE_DIR.iterdir()
        if p.suffix in (".py", ".pyi") and not p.stem.startswith("_") and p.stem not in NOT_API
    }
    order = {name: i for i, name in enumerate(MODULE_ORDER)}
    found = sorted(names, key=lambda n: (order.get(n, len(order)), n))
    return ["gocurrent"] + [f"gocurrent.{n}" for n in found]


def api_page_path(module: str) -> str:
    return f"api/{module}.md"


def load_package() -> griffe.Module:
    return griffe.load(
        "gocurrent",
        search_paths=[str(ROOT / "python")],
        allow_inspection=False,
        resolve_aliases=True,
        resolve_external=False,
    )


def exported_names(module: griffe.Module) -> list[str]:
    """``__all__`` if the module has one, else its public, non-imported members."""
    if module.exports is not None:
        return [str(name) for name in module.exports]
    return [
        name
        for name, member in module.members.items()
        if not name.startswith("_") and not member.is_alias and not member.is_module
    ]


def undocumented(package: griffe.Module, modules: list[str]) -> list[str]:
    """Paths of public names (and public members of public classes) without docstrings."""
    missing: list[str] = []

    def check(obj: Any, shown: str) -> None:
        try:
            target = obj.final_target if obj.is_alias else obj
        except griffe.AliasResolutionError:
            missing.append(f"{shown} (does not resolve)")
            return
        if target.is_module:
            return  # documented on its own page
        if not target.docstring:
            missing.append(shown)
        if target.is_class:
            described = target.docstring.value if target.docstring else ""
            for name, member in target.members.items():
                if name.startswith("_") or member.is_alias or member.docstring:
                    continue
                # A field may be described by its class's docstring instead.
                if member.is_attribute and f"``{name}``" in described:
                    continue
                missing.append(f"{shown}.{name}")

    for module_path in modules:
        module = package if module_path == "gocurrent" else package[module_path.split(".", 1)[1]]
        if not module.docstring:
            missing.append(module_path)
        for name in exported_names(module):
            if name not in module.members:
                missing.append(f"{module_path}.{name} (in __all__ but not defined)")
                continue
            check(module.members[name], f"{module_path}.{name}")
    return missing


def api_markdown(package: griffe.Module, module_path: str) -> str:
    """The page of one module: its docstring, then each exported name."""
    if module_path != "gocurrent":
        module = package[module_path.split(".", 1)[1]]
        text = (
            f"# `{module_path}`\n\n"
            f"::: {module_path}\n"
            "    options:\n"
            "      show_root_heading: false\n"
            "      heading_level: 2\n"
        )
        if module.exports is not None:  # only what __all__ exports, in its order
            text += f"      members: {exported_names(module)!r}\n"
        return text
    names = [n for n in exported_names(package) if not package.members[n].is_module]
    names.append("__version__")
    lines = [
        "# `gocurrent`",
        "",
        "::: gocurrent",
        "    options:",
        "      show_root_heading: false",
        "      members: false",
        "",
        "The submodules have pages of their own: "
        + ", ".join(f"[`{m}`]({m}.md)" for m in public_modules() if m != "gocurrent")
        + ".",
        "",
    ]
    grouped = [n for group in TOP_LEVEL_GROUPS.values() for n in group]
    groups = dict(TOP_LEVEL_GROUPS)
    others = [n for n in names if n not in grouped]
    if others:
        groups["Other"] = others
    for title, members in groups.items():
        members = [n for n in members if n in names]
        if not members:
            continue
        lines += [f"## {title}", ""]
        for name in members:
            lines += [f"::: gocurrent.{name}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines)


_API: dict[str, str] = {}


def on_config(config: Any) -> Any:
    package = load_package()
    modules = public_modules()
    for path in undocumented(package, modules):
        log.warning("public name without a docstring: %s", path)
    _API.clear()
    for module in modules:
        _API[api_page_path(module)] = api_markdown(package, module)
    for entry in config["nav"]:
        if isinstance(entry, dict) and "API reference" in entry:
            entry["API reference"] = [{m: api_page_path(m)} for m in modules]
    return config


def on_files(files: Files, config: Any) -> Files:
    for path, content in _API.items():
        files.append(File.generated(config, path, content=content))
    return files


# ------------------------------------------------------------ examples


GO_CODE = re.compile(r"\bfunc\b|:=|<-|\bmake\(|\bsync\.|\bgo \w")


def example_parts(name: str) -> tuple[str | None, str]:
    """The article's Go program from examples/NAME.py's docstring, and its code."""
    path = EXAMPLES_DIR / f"{name}.py"
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    doc = ast.get_docstring(tree, clean=False) or ""
    first = tree.body[0] if tree.body else None
    code_lines = source.splitlines()
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        code_lines = code_lines[first.end_lineno or 0 :]
    code = "\n".join(code_lines).strip("\n")
    go = None
    # The first literal block (after "::") that is Go code.
    for match in re.finditer(r"::\n\n((?:(?:    .*)?\n)+)", doc + "\n"):
        block = "\n".join(line[4:] for line in match.group(1).rstrip().splitlines())
        if GO_CODE.search(block):
            go = block
            break
    return go, code


def definition(name: str, dotted: str) -> str | None:
    """The source of the function or class ``dotted`` (``Class.method``) of examples/NAME.py."""
    source = (EXAMPLES_DIR / f"{name}.py").read_text(encoding="utf-8")
    scope: list[ast.stmt] = ast.parse(source).body
    node: ast.stmt | None = None
    for part in dotted.split("."):
        node = next(
            (
                n
                for n in scope
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        scope = node.body  # type: ignore[attr-defined]
    assert node is not None
    lines = source.splitlines()
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    body = lines[start - 1 : node.end_lineno]
    indent = len(body[0]) - len(body[0].lstrip())
    return "\n".join(line[indent:] for line in body)


def fenced(lang: str, code: str, title: str) -> str:
    fence = "````" if "```" in code else "```"
    return f'{fence}{lang} title="{title}"\n{code}\n{fence}'


def side_by_side(name: str) -> str:
    go, code = example_parts(name)
    python = fenced("python", code, f"examples/{name}.py")
    if go is None:
        log.warning('examples/%s.py has no "The article\'s Go program::" block', name)
        return python
    return (
        '<div class="grid" markdown>\n\n'
        + fenced("go", go, "Go (the article)")
        + "\n\n"
        + python
        + "\n\n</div>"
    )


def bench_charts() -> str:
    order = list(CHART_CAPTIONS)  # idle first, then loaded, then the others by name
    charts = sorted(
        CHARTS_DIR.glob("*.png"),
        key=lambda p: (order.index(p.stem) if p.stem in order else len(order), p.stem),
    )
    if not charts:
        return "*No benchmark results yet: `scripts/plot-bench.py` draws them.*"
    out = []
    for chart in charts:
        caption = CHART_CAPTIONS.get(chart.stem, f"`benches/results/{chart.stem}.json`")
        out += [f"### {caption}", "", f"![{caption}](../assets/bench/{chart.name})", ""]
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def replace(match: re.Match[str]) -> str:
        kind, name, obj = match.group(1), match.group(2), match.group(3)
        path = EXAMPLES_DIR / f"{name}.py"
        if not path.is_file():
            log.warning("%s: examples/%s.py does not exist", page.file.src_uri, name)
            return ""
        if kind == "side-by-side":
            return side_by_side(name)
        if obj:
            code = definition(name, obj)
            if code is None:
                log.warning("%s: examples/%s.py has no %s", page.file.src_uri, name, obj)
                return ""
            return fenced("python", code, f"examples/{name}.py: {obj}")
        return fenced("python", example_parts(name)[1], f"examples/{name}.py")

    markdown = re.sub(r"<!-- (side-by-side|python): (\w+)(?:#([\w.]+))? -->", replace, markdown)
    return markdown.replace("<!-- bench-charts -->", bench_charts())
