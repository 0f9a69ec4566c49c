"""The control room's bundle is built from the lockfile's Leaflet, or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import build_control


def fake_leaflet(root: Path, version: str) -> Path:
    """node_modules/leaflet as npm would leave it, with `version`."""
    dist = root / "leaflet" / "dist"
    dist.mkdir(parents=True)
    (root / "leaflet" / "package.json").write_text(json.dumps({"version": version}))
    (dist / "leaflet.js").write_text(
        "/* @preserve Leaflet */\nvar L={};\n//# sourceMappingURL=leaflet.js.map\n"
    )
    (dist / "leaflet.css").write_text(".leaflet-container{}\n/*# sourceMappingURL=x.map */\n")
    return root / "leaflet"


def use(monkeypatch: pytest.MonkeyPatch, leaflet: Path) -> None:
    monkeypatch.setattr(build_control, "LEAFLET", leaflet)
    monkeypatch.setattr(
        build_control,
        "BUNDLES",
        {
            "control.js": (leaflet / "dist" / "leaflet.js", build_control.SOURCES / "control.js"),
            "control.css": (
                leaflet / "dist" / "leaflet.css",
                build_control.SOURCES / "control.css",
            ),
        },
    )


def test_another_leaflet_than_the_locked_one_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, fake_leaflet(tmp_path, "1.9.3"))

    with pytest.raises(build_control.BuildError, match="npm ci"):
        build_control.build(tmp_path)
    assert not (tmp_path / "control.js").exists()


def test_a_missing_leaflet_says_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, tmp_path / "leaflet")

    with pytest.raises(build_control.BuildError, match="not installed"):
        build_control.build(tmp_path)


def test_the_bundle_is_leaflet_then_ours_without_source_maps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, fake_leaflet(tmp_path / "node_modules", build_control.locked_version()))

    sizes = build_control.build(tmp_path)

    js = (tmp_path / "control.js").read_text()
    assert js.startswith("/* @preserve Leaflet */\nvar L={};")
    assert "sourceMappingURL" not in js + (tmp_path / "control.css").read_text()
    assert js.rstrip().endswith("})();")  # ours, whole, last
    assert {s.name for s in sizes} == {"control.js", "control.css"}
    assert all(0 < s.gzipped < s.raw for s in sizes)


def test_the_sizes_in_the_docs_are_the_bundles_within_two_percent() -> None:
    """docs/control-room.md quotes the bundle's size; a bundle grown or shrunk past 2 % needs
    the figures written again (`python -m tools.build_control` prints them)."""
    doc = (build_control.ROOT / "docs" / "control-room.md").read_text()
    for name in build_control.BUNDLES:
        built = build_control.STATIC / name
        assert built.exists(), f"{built} is not built: run `make bundle`"
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{name}` |"))
        quoted = int(row.split("|")[2].strip().replace(",", ""))
        size = built.stat().st_size
        assert abs(size - quoted) <= 0.02 * size, (
            f"{name} is {size:,} bytes; the docs say {quoted:,}"
        )
