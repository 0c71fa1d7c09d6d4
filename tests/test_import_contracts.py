"""Every module of the package is under an import contract (pyproject.toml), so a new module
cannot slip past the rules that keep the core pure and the layers one-way."""

from __future__ import annotations

import pkgutil
import tomllib

import issuer
from tests.conftest import ROOT


def contracted() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    names: set[str] = set()
    for contract in config["contracts"]:
        names.update(contract.get("source_modules", []))
        for layer in contract.get("layers", []):
            names.update(part.strip() for part in layer.split("|"))
    return names


def test_every_module_is_under_an_import_contract() -> None:
    covered = contracted()
    modules = [module.name for module in pkgutil.walk_packages(issuer.__path__, prefix="issuer.")]
    loose = [
        name for name in modules if not any(name == c or name.startswith(c + ".") for c in covered)
    ]
    assert loose == [], f"add these modules to a contract in pyproject.toml: {loose}"
