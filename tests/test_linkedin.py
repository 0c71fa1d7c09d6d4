from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

from issuer.linkedin import Certification, add_to_profile_url, share_url

CERT = Certification(
    name="Radiologic Technologists & Technicians #1: Compétent — “Proficient”",
    organization_name="Hôpital Saint-Éloi & Partners",
    organization_id=None,
    issued=datetime(2026, 11, 23, tzinfo=UTC),
    expires=datetime(2028, 11, 22, tzinfo=UTC),
    cert_url="https://badges.example.org/credentials/5f0c#x?y=1&z",
    cert_id="5f0c1c2e",
)


def test_add_to_profile_url_encodes_every_value() -> None:
    url = add_to_profile_url(CERT)
    parts = urlsplit(url)
    assert (
        parts.scheme == "https"
        and parts.netloc == "www.linkedin.com"
        and parts.path == "/profile/add"
    )
    assert "#" not in url and " " not in url and "é" not in url and "&Technicians" not in url
    assert parse_qsl(parts.query) == [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", CERT.name),
        ("organizationName", CERT.organization_name),
        ("issueYear", "2026"),
        ("issueMonth", "11"),
        ("expirationYear", "2028"),
        ("expirationMonth", "11"),
        ("certUrl", CERT.cert_url),
        ("certId", "5f0c1c2e"),
    ]


def test_organization_id_replaces_the_name_and_no_expiry_means_no_expiration_fields() -> None:
    from dataclasses import replace

    url = add_to_profile_url(replace(CERT, organization_id="1234567", expires=None))
    fields = dict(parse_qsl(urlsplit(url).query))
    assert fields["organizationId"] == "1234567" and "organizationName" not in fields
    assert "expirationYear" not in fields and "expirationMonth" not in fields


def test_share_link() -> None:
    assert share_url("https://b.example/credentials/1?a=b&c") == (
        "https://www.linkedin.com/sharing/share-offsite/?url=https%3A%2F%2Fb.example%2Fcredentials%2F1%3Fa%3Db%26c"
    )
