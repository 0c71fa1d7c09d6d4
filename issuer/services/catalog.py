"""The catalog: which frameworks the issuer offers and the Achievements built from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from issuer.achievements import build_achievements, write_achievements
from issuer.errors import FrameworkInvalid, NotFound
from issuer.frameworks import Framework, Level, load_framework
from issuer.profiles import IssuerProfile
from issuer.types import JsonObject


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    framework: Framework
    level: Level
    achievement: JsonObject


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every offered level, in framework order, each with its Achievement."""

    entries: tuple[CatalogEntry, ...]

    def find(self, soc: str, level_key: str) -> CatalogEntry:
        for entry in self.entries:
            if entry.framework.occupation.soc == soc and entry.level.key == level_key:
                return entry
        raise NotFound(f"no achievement for occupation {soc!r} and level {level_key!r}")

    def frameworks(self) -> list[Framework]:
        seen: dict[str, Framework] = {}
        for entry in self.entries:
            seen.setdefault(entry.framework.occupation.soc, entry.framework)
        return list(seen.values())


def framework_files(*directories: Path) -> list[Path]:
    """The framework files in each directory, sorted by name (missing directories are empty)."""
    return [path for d in directories if d.is_dir() for path in sorted(d.glob("*.json"))]


def load_frameworks(paths: Iterable[Path]) -> list[Framework]:
    """Load and validate every file before anything is used; two files for one SOC code clash."""
    frameworks: dict[str, Framework] = {}
    for path in paths:
        framework = load_framework(path)
        soc = framework.occupation.soc
        if soc in frameworks:
            raise FrameworkInvalid(str(path), "$.occupation.soc", f"{soc} is given by two files")
        frameworks[soc] = framework
    return list(frameworks.values())


def build_catalog(
    frameworks: Iterable[Framework], *, base_url: str, creator: IssuerProfile, language: str
) -> Catalog:
    entries = []
    for framework in frameworks:
        files = build_achievements(framework, base_url=base_url, creator=creator, language=language)
        for level, achievement in zip(framework.levels, files.values(), strict=True):
            entries.append(CatalogEntry(framework, level, achievement))
    return Catalog(tuple(entries))


def build_achievement_files(
    paths: Iterable[Path], out_dir: Path, *, base_url: str, creator: IssuerProfile, language: str
) -> list[Path]:
    """Validate every framework, then write all Achievements or none (`achievements build`)."""
    files: dict[str, JsonObject] = {}
    for framework in load_frameworks(paths):
        files.update(
            build_achievements(framework, base_url=base_url, creator=creator, language=language)
        )
    return write_achievements(out_dir, files)
