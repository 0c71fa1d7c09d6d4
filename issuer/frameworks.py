"""Skills frameworks: read, validate and model the framework files coordinators import.

The format is the one of the bundled frameworks (schemaVersion "1.0"): `occupation` (O*NET-SOC
code and title), `framework` (version, contextCovered, ordered `levels` of statements), `sources`
and `attribution`. Validation is complete and happens before anything is written, and every
error names the file and the JSON path, because coordinators fix these files by hand. Each text
has its declared maximum length (limits.py): the title, for one, ends up in the Achievement's
name and in the subject of every claim e-mail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from issuer import limits
from issuer.errors import FrameworkInvalid

SCHEMA_VERSIONS = ("1.0",)
SOC_CODE = re.compile(r"^\d{2}-\d{4}\.\d{2}$")
# Level keys become URL path segments and file names: letters, digits, '-', '_', '.' only.
LEVEL_KEY = re.compile(rf"^\w[\w.-]{{0,{limits.LEVEL_KEY - 1}}}$")
# What frameworks imported before the limits of limits.py were checked against (and what a
# stored one is still read with): control characters other than tab and line breaks.
STORED_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_FRAMEWORK_BYTES = limits.FRAMEWORK_FILE_BYTES


@dataclass(frozen=True, slots=True)
class _Field:
    """How long a text may be, and whether it may span lines (a title may not)."""

    max_length: int
    multiline: bool = False


_SOC = _Field(limits.SOC)
_TITLE = _Field(limits.FRAMEWORK_TITLE)
_GROUP = _Field(limits.OCCUPATION_GROUP)
_VERSION = _Field(limits.FRAMEWORK_VERSION)
_LABEL = _Field(limits.LEVEL_LABEL)
_STATEMENT = _Field(limits.STATEMENT, multiline=True)
_TEXT = _Field(limits.FRAMEWORK_TEXT, multiline=True)


@dataclass(frozen=True, slots=True)
class Occupation:
    soc: str
    title: str
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Level:
    key: str
    label: str
    statements: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Framework:
    """A validated skills framework; `levels` keep the file's order (the progression)."""

    occupation: Occupation
    version: str
    description: str
    context_covered: str
    levels: tuple[Level, ...]
    sources: tuple[tuple[str, str], ...] = ()
    attribution: str = ""


def load_framework(path: Path) -> Framework:
    """Read and validate a framework file; FrameworkInvalid names the file and the JSON path."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise FrameworkInvalid(
            str(path), "$", f"cannot read the file ({error.strerror})"
        ) from error
    return parse_framework(data, str(path))


def parse_framework(data: bytes, source: str, *, stored: bool = False) -> Framework:
    """Validate the bytes of a framework file named `source` and build the Framework.

    `stored=True` reads a file imported earlier, whose texts were accepted under the limits of
    their day: a limit tightened since must not make the framework, and the credentials
    issued from it, unreadable. Everything else is checked as at import."""
    document = _decode(data, source)
    reader = _Reader(source, stored)
    root = reader.object(document, "$")
    version = root.get("schemaVersion")
    if version not in SCHEMA_VERSIONS:
        reader.fail(
            "$.schemaVersion",
            f"unknown schemaVersion {version!r}; expected one of {SCHEMA_VERSIONS}",
        )
    occupation = reader.object(root.get("occupation"), "$.occupation")
    framework = reader.object(root.get("framework"), "$.framework")
    soc = reader.text(occupation.get("soc"), "$.occupation.soc", _SOC)
    if not SOC_CODE.match(soc):
        reader.fail("$.occupation.soc", f"{soc!r} is not an O*NET-SOC code like '29-2034.00'")
    return Framework(
        occupation=Occupation(
            soc=soc,
            title=reader.text(occupation.get("title"), "$.occupation.title", _TITLE),
            group=reader.optional_text(occupation.get("group"), "$.occupation.group", _GROUP),
        ),
        version=reader.text(framework.get("version"), "$.framework.version", _VERSION),
        description=reader.optional_text(
            framework.get("description"), "$.framework.description", _TEXT
        )
        or "",
        context_covered=reader.text(
            framework.get("contextCovered"), "$.framework.contextCovered", _TEXT
        ),
        levels=_levels(reader, framework.get("levels")),
        sources=_sources(reader, root.get("sources")),
        attribution=reader.optional_text(root.get("attribution"), "$.attribution", _TEXT) or "",
    )


def _decode(data: bytes, source: str) -> Any:
    if len(data) > MAX_FRAMEWORK_BYTES:
        raise FrameworkInvalid(source, "$", f"file is larger than {MAX_FRAMEWORK_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FrameworkInvalid(source, "$", f"not UTF-8 text (byte {error.start})") from error
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as error:
        raise FrameworkInvalid(
            source, "$", f"malformed JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from error
    except _DuplicateKey as error:
        raise FrameworkInvalid(source, "$", f"duplicate key {error.args[0]!r}") from error
    except RecursionError as error:
        raise FrameworkInvalid(source, "$", "JSON nested too deeply") from error
    except ValueError as error:
        # e.g. an integer of more than 4,300 digits, which Python refuses to convert
        raise FrameworkInvalid(source, "$", f"unreadable value: {error}") from error


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _levels(reader: _Reader, value: Any) -> tuple[Level, ...]:
    levels = reader.object(value, "$.framework.levels")
    if not levels:
        reader.fail("$.framework.levels", "a framework needs at least one level")
    result = []
    for key, level in levels.items():
        path = f"$.framework.levels.{key}"
        if not LEVEL_KEY.match(key):
            reader.fail(path, f"level key {key!r} must be letters, digits, '-', '_' or '.'")
        body = reader.object(level, path)
        statements = reader.array(body.get("statements"), f"{path}.statements")
        if not statements:
            reader.fail(f"{path}.statements", "a level needs at least one statement")
        texts = [
            reader.text(s, f"{path}.statements[{i}]", _STATEMENT) for i, s in enumerate(statements)
        ]
        for i, text in enumerate(texts):
            if text in texts[:i]:
                reader.fail(f"{path}.statements[{i}]", f"duplicate statement {text[:60]!r}")
        label = reader.text(body.get("label"), f"{path}.label", _LABEL)
        result.append(Level(key=key, label=label, statements=tuple(texts)))
    return tuple(result)


def _sources(reader: _Reader, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    sources = reader.object(value, "$.sources")
    return tuple(
        (key, reader.text(item, f"$.sources.{key}", _TEXT)) for key, item in sources.items()
    )


@dataclass(frozen=True, slots=True)
class _Reader:
    """Typed access to parsed JSON that fails with the file name and JSON path."""

    source: str
    stored: bool = False

    def fail(self, path: str, problem: str) -> Any:
        raise FrameworkInvalid(self.source, path, problem)

    def object(self, value: Any, path: str) -> dict[str, Any]:
        if value is None:
            self.fail(path, "is missing")
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, not {_json_type(value)}")
        return value  # type: ignore[no-any-return]

    def array(self, value: Any, path: str) -> list[Any]:
        if value is None:
            self.fail(path, "is missing")
        if not isinstance(value, list):
            self.fail(path, f"must be an array, not {_json_type(value)}")
        return value  # type: ignore[no-any-return]

    def text(self, value: Any, path: str, field: _Field) -> str:
        if value is None:
            self.fail(path, "is missing")
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {_json_type(value)}")
        if not value.strip():
            self.fail(path, "must not be empty")
        if self.stored:
            if STORED_CONTROL_CHARACTER.search(value):
                self.fail(path, "contains a control character")
        elif problem := limits.text_problem(value, field.max_length, multiline=field.multiline):
            self.fail(path, limits.describe(problem, field.max_length, multiline=field.multiline))
        return value  # type: ignore[no-any-return]

    def optional_text(self, value: Any, path: str, field: _Field) -> str | None:
        if value is None or value == "":
            return None
        return self.text(value, path, field)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    return names.get(type(value), "null")
