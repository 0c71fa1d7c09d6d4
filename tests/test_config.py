from pathlib import Path

import pytest

from issuer.config import Settings


def test_defaults_serve_the_embedded_setup_on_loopback() -> None:
    settings = Settings.from_env({})
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.keys_dir == Path("keys")
    assert settings.database_url == "sqlite:///data/issuer.db"


def test_reads_issuer_prefixed_variables() -> None:
    settings = Settings.from_env(
        {
            "ISSUER_BASE_URL": "https://badges.example.org/",
            "ISSUER_DATA_DIR": "/srv/issuer",
            "ISSUER_KEYS_DIR": "/srv/keys",
            "ISSUER_DATABASE_URL": "postgresql://db/issuer",
            "ISSUER_PORT": "9000",
            "ISSUER_ALLOW_PRIVATE_FETCH": "true",
            "OTHER": "ignored",
        }
    )
    assert settings.base_url == "https://badges.example.org"
    assert settings.data_dir == Path("/srv/issuer")
    assert settings.keys_dir == Path("/srv/keys")
    assert settings.database_url == "postgresql://db/issuer"
    assert settings.port == 9000
    assert settings.allow_private_fetch is True


def test_passphrase_never_shows_in_repr() -> None:
    settings = Settings.from_env({"ISSUER_KEY_PASSPHRASE": "hunter2-secret"})
    assert settings.key_passphrase == "hunter2-secret"
    assert "hunter2-secret" not in repr(settings)


def test_issuer_profile_is_identified_by_the_base_url() -> None:
    profile = Settings(base_url="https://b.example", issuer_name="St Example").issuer_profile()
    assert profile.to_json() == {
        "id": "https://b.example/issuer",
        "type": ["Profile"],
        "name": "St Example",
        "url": "https://b.example",
    }


def test_reads_the_proof_suites_and_the_jwt_algorithm() -> None:
    settings = Settings.from_env(
        {"ISSUER_PROOFS": "eddsa-rdfc-2022, ecdsa-rdfc-2019", "ISSUER_JWT_ALG": "ES256"}
    )
    assert settings.proofs == ("eddsa-rdfc-2022", "ecdsa-rdfc-2019")
    assert settings.jwt_alg == "ES256"
    assert Settings.from_env({}).proofs == ("eddsa-rdfc-2022",)
    assert Settings.from_env({}).jwt_alg is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ISSUER_PROOFS", "ecdsa-sd-2023"),
        ("ISSUER_PROOFS", "eddsa-rdfc-2022,eddsa-rdfc-2022"),
        ("ISSUER_JWT_ALG", "RS256"),
    ],
)
def test_refuses_a_suite_or_algorithm_we_do_not_sign_with(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})
