"""SVG baking: `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` on the root and one
`<openbadges:credential>` element right after `<svg>`, holding the JSON in CDATA or a JWS in
its `verify` attribute (https://www.imsglobal.org/spec/ob/v3p0/#svg)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from issuer.errors import CredentialInvalid

NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
CREDENTIAL_TAG = f"{{{NAMESPACE}}}credential"
_EXISTING = re.compile(r"<openbadges:credential\b.*?(?:/>|</openbadges:credential>)", re.S)
_ROOT = re.compile(r"<svg\b[^>]*>", re.S)


def bake_svg(svg: str, credential: str, *, jws: bool = False) -> str:
    """The SVG with `credential` as its only <openbadges:credential> element."""
    _parse(svg)
    svg = _EXISTING.sub("", svg)
    root = _ROOT.search(svg)
    if root is None:
        raise CredentialInvalid("no <svg> root element")
    tag = root.group(0)
    if "xmlns:openbadges=" not in tag:
        closing = "/>" if tag.endswith("/>") else ">"
        tag = tag[: -len(closing)] + f' xmlns:openbadges="{NAMESPACE}"' + closing
    if jws:
        element = f'<openbadges:credential verify="{credential}"/>'
    else:
        # `]]>` would end the CDATA section; in JSON it can only sit inside a string, where
        # `\u003e` means the same `>`, so the credential (and its proof) is unchanged.
        text = credential.replace("]]>", "]]\\u003e")
        element = f"<openbadges:credential><![CDATA[{text}]]></openbadges:credential>"
    return svg[: root.start()] + tag + element + svg[root.end() :]


def extract_svg(svg: str) -> str | None:
    """The baked credential (JSON text or JWS), or None when the image carries none."""
    for element in _parse(svg).iter(CREDENTIAL_TAG):
        verify = element.get("verify")
        if verify:
            return verify.strip()
        return (element.text or "").strip() or None
    return None


def _parse(svg: str) -> ElementTree.Element:
    if "<!ENTITY" in svg:
        raise CredentialInvalid("SVG with entity declarations is refused")
    try:
        return ElementTree.fromstring(svg)
    except ElementTree.ParseError as error:
        raise CredentialInvalid(f"not a well-formed SVG: {error}") from None
