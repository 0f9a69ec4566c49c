"""Bundle the control room's script and stylesheet: Leaflet (from npm, pinned by package-lock.json)
followed by our own web/control.js and web/control.css, into chalicelib/static/, which the Lambda
serves (no CDN at run time).

`make bundle` runs it after `npm ci` (`make run`, `make test` and `make package` depend on it);
the bundle is not committed: it is built from the lockfile on every machine. Plain concatenation
is all a bundler would do here: Leaflet ships one self-contained browser build, and our script
is one file.

    python -m tools.build_control          # build, and print each file's size (raw and gzip)
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEAFLET = ROOT / "node_modules" / "leaflet"
SOURCES = ROOT / "web"
STATIC = ROOT / "chalicelib" / "static"
# What the browser fetches, each built from Leaflet's file then ours.
BUNDLES = {
    "control.js": (LEAFLET / "dist" / "leaflet.js", SOURCES / "control.js"),
    "control.css": (LEAFLET / "dist" / "leaflet.css", SOURCES / "control.css"),
}
# A source map the Lambda does not serve: the browser would ask for it and get a 404.
SOURCE_MAP = re.compile(r"^\s*(//|/\*)# sourceMappingURL=.*$", re.MULTILINE)


class BuildError(RuntimeError):
    """The bundle cannot be built as locked: says what to run."""


@dataclass(frozen=True)
class Size:
    """A built file's size in bytes, as stored and as sent gzip-compressed."""

    name: str
    raw: int
    gzipped: int


def locked_version() -> str:
    """Leaflet's version in package-lock.json."""
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/leaflet"]["version"])


def installed_version() -> str | None:
    """Leaflet's version in node_modules, or None when it is not installed."""
    manifest = LEAFLET / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"])


def bundle(first: Path, ours: Path) -> str:
    """Leaflet's file (licence header kept, source map line dropped), then ours."""
    library = SOURCE_MAP.sub("", first.read_text(encoding="utf-8")).rstrip()
    return f"{library}\n\n{ours.read_text(encoding='utf-8').rstrip()}\n"


def build(out: Path = STATIC) -> list[Size]:
    """Write the bundles into `out`; their sizes."""
    locked, installed = locked_version(), installed_version()
    if installed != locked:
        raise BuildError(
            f"node_modules has Leaflet {installed or 'not installed'}, package-lock.json {locked}:"
            " run `npm ci` (or `make bundle`)"
        )
    sizes = []
    for name, (first, ours) in BUNDLES.items():
        text = bundle(first, ours).encode("utf-8")
        (out / name).write_bytes(text)
        sizes.append(Size(name, len(text), len(gzip.compress(text, compresslevel=9, mtime=0))))
    return sizes


def main() -> None:
    """Build and print the sizes."""
    try:
        sizes = build()
    except BuildError as problem:
        sys.exit(str(problem))
    for size in sizes:
        print(f"{size.name}: {size.raw:,} bytes, {size.gzipped:,} gzip")


if __name__ == "__main__":
    main()
