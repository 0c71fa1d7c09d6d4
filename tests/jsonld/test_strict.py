import copy
import json

import pytest

from issuer.errors import JsonLdInvalid
from issuer.jsonld.loader import OB_EXTENSIONS
from issuer.jsonld.strict import expand_strictly
from tests.conftest import VECTORS


@pytest.fixture
def credential() -> dict:  # type: ignore[type-arg]
    vector = json.loads(
        (VECTORS / "1edtech-ob-v3p0-spec/ob-eddsa-rdfc-2022-vector.json").read_text()
    )
    return copy.deepcopy(vector["unsecuredDocument"])


def test_accepts_a_well_defined_open_badge(credential: dict) -> None:  # type: ignore[type-arg]
    assert expand_strictly(credential)


def test_names_a_property_that_expansion_would_drop(credential: dict) -> None:  # type: ignore[type-arg]
    credential["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(JsonLdInvalid, match="favouriteColour"):
        expand_strictly(credential)


def test_names_an_undefined_type(credential: dict) -> None:  # type: ignore[type-arg]
    credential["credentialSchema"] = [
        {"id": "https://example.com/schema.json", "type": "1EdTechJsonSchemaValidator2019"}
    ]
    with pytest.raises(JsonLdInvalid, match="1EdTechJsonSchemaValidator2019"):
        expand_strictly(credential)
    credential["@context"].append(OB_EXTENSIONS)
    assert expand_strictly(credential)


def test_refuses_a_relative_id(credential: dict) -> None:  # type: ignore[type-arg]
    credential["id"] = "credentials/3527"
    with pytest.raises(JsonLdInvalid, match="credentials/3527"):
        expand_strictly(credential)
