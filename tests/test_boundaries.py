"""The import graph keeps the apps' boundaries (DESIGN.md): `realtime` uses
`transcripts`, never the reverse; the canonical-document functions are pure
(no Django, nothing but the standard library, each other and the shared
formatting helpers); `project` is wiring, reaching into the apps only
through their URL and WebSocket routing (and, by settings string, the body
limits: REQUEST_BODY_LIMITS), but for its site-wide pages, which use the
accounts app. Read from the source with `ast`, so a lazy
import inside a function counts too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("transcripts", "realtime", "accounts", "api")
# The site-wide pages DESIGN.md keeps in project/ (home, sign-up, account)
# are the accounts app's pages: they may use it.
SITE_PAGES = {"project.views": ("accounts",)}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module `path` imports, absolute, wherever in the file."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            # `from package import module` imports the module
            found.update(
                f"{base}.{alias.name}"
                for alias in node.names
                if (ROOT / base.replace(".", "/") / f"{alias.name}.py").exists()
            )
    return found


def graph(package: str) -> dict[str, set[str]]:
    return {
        module_name(path): imports(path)
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py"))
        if "migrations" not in path.parts
    }


def under(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def test_the_reader_sees_imports_anywhere_in_a_module():
    modules = graph("realtime")
    assert "transcripts.media.pcm" in modules["realtime.relay"]  # at the top
    assert "realtime.upstreams.scribe" in modules["realtime.upstreams"]  # inside a function
    assert "realtime.upstreams.scribe" in graph("realtime.upstreams")["realtime.upstreams"]


def test_transcripts_never_imports_realtime():
    offenders = {
        (module, imported)
        for module, imported_modules in graph("transcripts").items()
        for imported in imported_modules
        if under(imported, "realtime")
    }
    assert offenders == set()


def test_the_document_functions_are_pure():
    allowed = ("transcripts.document", "transcripts.formatting")
    modules = graph("transcripts.document") | {"transcripts.formatting": imports(ROOT / "transcripts/formatting.py")}
    offenders = {
        (module, imported)
        for module, imported_modules in modules.items()
        for imported in imported_modules
        if not under(imported, *allowed) and imported.partition(".")[0] not in sys.stdlib_module_names
    }
    assert offenders == set()
    assert any(under(i, "transcripts.document") for i in modules["transcripts.document.html"])  # the check sees them


def test_project_reaches_the_apps_only_through_their_routing():
    wiring = {*APPS, *(f"{app}.{part}" for app in APPS for part in ("routing", "urls"))}
    reached = {
        (module, imported)
        for module, imported_modules in graph("project").items()
        for imported in imported_modules
        if under(imported, *APPS) and not under(imported, *SITE_PAGES.get(module, ()))
    }
    assert {imported for _, imported in reached} <= wiring, reached
    assert ("project.routing", "realtime.routing") in reached
