"""The catalog: which frameworks the issuer offers and the Achievements built from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import bindparam, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, contains_eager, defer, lazyload, with_expression

from issuer.achievements import build_achievements, write_achievements
from issuer.errors import Conflict, FrameworkInvalid, InvalidInput, NotFound
from issuer.frameworks import Framework, Level, load_framework, parse_framework
from issuer.profiles import IssuerProfile
from issuer.services import audit
from issuer.store.models import (
    AchievementRecord,
    Assignment,
    EndorsementRecord,
    FrameworkRecord,
    User,
)
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


def import_framework(
    session: Session,
    data: bytes,
    source: str,
    *,
    base_url: str,
    creator: IssuerProfile,
    language: str,
    validity_days: int | None = None,
    actor: User | None = None,
) -> FrameworkRecord:
    """Validate a framework file and store it with its Achievements.

    Importing the same file again changes nothing; a different file for an occupation already
    imported is a Conflict (credentials point at the stored Achievements).
    """
    framework = parse_framework(data, source)
    if validity_days is not None and validity_days <= 0:
        raise InvalidInput("validity_days must be a positive number of days")
    text = data.decode("utf-8-sig")
    existing = session.scalar(
        select(FrameworkRecord).where(FrameworkRecord.soc == framework.occupation.soc)
    )
    if existing is not None:
        if existing.source == text:
            return existing
        raise Conflict(
            f"occupation {framework.occupation.soc} is already imported from another file"
        )
    record = FrameworkRecord(
        soc=framework.occupation.soc,
        title=framework.occupation.title,
        version=framework.version,
        source=text,
        validity_days=validity_days,
        imported_at=datetime.now(UTC),
    )
    session.add(record)
    files = build_achievements(framework, base_url=base_url, creator=creator, language=language)
    for position, (level, achievement) in enumerate(
        zip(framework.levels, files.values(), strict=True)
    ):
        record.achievements.append(
            AchievementRecord(
                level_key=level.key,
                label=level.label,
                position=position,
                url=achievement["id"],
                document=achievement,
            )
        )
    session.flush()
    audit.record(session, actor, "framework.imported", framework.occupation.soc, source=source)
    return record


def stored_catalog(session: Session) -> Catalog:
    """The catalog as stored: every imported framework's levels and Achievements."""
    entries = []
    for record in session.scalars(select(FrameworkRecord).order_by(FrameworkRecord.id)):
        framework = parse_framework(
            record.source.encode("utf-8"), f"stored:{record.soc}", stored=True
        )
        for level, stored in zip(framework.levels, record.achievements, strict=True):
            entries.append(CatalogEntry(framework, level, stored.document))
    return Catalog(tuple(entries))


@dataclass(frozen=True, slots=True)
class Imported:
    record: FrameworkRecord
    learners: int  # enrolled (assigned a supervisor) in it


def imported(session: Session) -> list[Imported]:
    """Every imported framework by title, with its levels and how many learners it has; the
    stored files themselves stay unread."""
    counted = select(Assignment.framework_id, func.count(distinct(Assignment.learner_id)))
    learners: dict[int, int] = {
        framework_id: count
        for framework_id, count in session.execute(counted.group_by(Assignment.framework_id))
    }
    records = session.scalars(
        select(FrameworkRecord)
        .options(defer(FrameworkRecord.source))
        .order_by(FrameworkRecord.title)
    )
    return [Imported(record, learners.get(record.id, 0)) for record in records]


_OTHER_LEVEL = aliased(AchievementRecord)
_LEVELS = (
    select(func.count(_OTHER_LEVEL.id))
    .where(_OTHER_LEVEL.framework_id == FrameworkRecord.id)
    .correlate(FrameworkRecord)
    .scalar_subquery()
)
_ACHIEVEMENT = (  # built once: it runs on every confirmation and attestation
    select(AchievementRecord)
    .join(FrameworkRecord)
    .where(
        FrameworkRecord.soc == bindparam("soc"), AchievementRecord.level_key == bindparam("level")
    )
    .options(
        contains_eager(AchievementRecord.framework).options(
            lazyload(FrameworkRecord.achievements),
            defer(FrameworkRecord.source),
            with_expression(FrameworkRecord.levels, _LEVELS),
        )
    )
)


_ENDORSED = exists().where(
    or_(
        EndorsementRecord.subject_id == AchievementRecord.url,
        EndorsementRecord.subject_id == bindparam("profile"),
    ),
    EndorsementRecord.withdrawn_at.is_(None),
)
_ACHIEVEMENT_TO_SIGN = _ACHIEVEMENT.options(with_expression(AchievementRecord.endorsed, _ENDORSED))


def achievement_to_sign(
    session: Session, soc: str, level_key: str, profile_id: str
) -> AchievementRecord:
    """`achievement_record`, and whether it or the issuer's Profile (`profile_id`) has an
    endorsement in force (`endorsed`), in the same query: an attestation reads the endorsements
    to embed only when there are some, most often none."""
    record = session.scalar(
        _ACHIEVEMENT_TO_SIGN, {"soc": soc, "level": level_key, "profile": profile_id}
    )
    if record is None:
        raise NotFound(f"no achievement for occupation {soc!r} and level {level_key!r}")
    return record


def achievement_record(session: Session, soc: str, level_key: str) -> AchievementRecord:
    """The level's Achievement with its framework and its number of levels, in one query: the
    framework's other Achievements (four JSON documents) and its source file are read only if
    asked for."""
    record = session.scalar(_ACHIEVEMENT, {"soc": soc, "level": level_key})
    if record is None:
        raise NotFound(f"no achievement for occupation {soc!r} and level {level_key!r}")
    return record


def framework_record(session: Session, soc: str) -> FrameworkRecord:
    record = session.scalar(select(FrameworkRecord).where(FrameworkRecord.soc == soc))
    if record is None:
        raise NotFound(f"no framework for occupation {soc!r}")
    return record


def already_imported(session: Session, data: bytes) -> bool:
    """Whether exactly this file is stored already (importing it again changes nothing)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return (
        session.scalar(select(FrameworkRecord.id).where(FrameworkRecord.source == text)) is not None
    )
