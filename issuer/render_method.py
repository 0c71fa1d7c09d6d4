"""The W3C VC render method: how a wallet draws our credential, by a template we publish.

The Learner Credential Wallet, the wallet our learners are pointed to, reads `renderMethod[0]`
as an `SvgRenderingTemplate2023` (the W3C CCG form): it fetches the template at its `id`,
compiles it with Handlebars on the data `{credential, qr_code}`, and prints the result as the
credential's PDF. It ignores the newer `TemplateRenderMethod` (it would fetch a missing `id` and
print a blank page), so that is the form we issue. Its paths therefore start at `credential.`.

The template is plain SVG in which Handlebars expressions stand for the credential's values;
it names no person (our credentials carry only a hashed e-mail) and uses only what every
credential of ours has. `digestMultibase` lets a wallet check it got the template we signed
for: a multibase (base58btc, `z`) multihash (sha2-256) of the exact bytes served.
"""

from __future__ import annotations

import hashlib
from html import escape

import base58

from issuer.types import JsonObject

RENDER_METHOD_CONTEXT = "https://w3id.org/vc/render-method/v2rc1"
SVG_RENDERING_TEMPLATE = "SvgRenderingTemplate2023"
SHA2_256_MULTIHASH = bytes([0x12, 0x20])  # multicodec sha2-256, digest length 32
TEMPLATE_MEDIA_TYPE = "image/svg+xml"


def digest_multibase(data: bytes) -> str:
    """`z` + base58btc(sha2-256 multihash of `data`), as SvgRenderingTemplate2023 defines."""
    return "z" + base58.b58encode(SHA2_256_MULTIHASH + hashlib.sha256(data).digest()).decode()


def render_method(template_url: str, template: bytes) -> list[JsonObject]:
    """The `renderMethod` a credential carries for the template served at `template_url`."""
    return [
        {
            "id": template_url,
            "type": SVG_RENDERING_TEMPLATE,
            "name": "Certificate",
            "digestMultibase": digest_multibase(template),
        }
    ]


def certificate_template(colour: str) -> bytes:
    """A landscape (US Letter at 96 dpi) certificate as a Handlebars SVG template in the
    issuer's brand colour. `{{…}}` escapes for HTML, which also suits SVG text; every value
    comes from the credential, so one template serves every credential of the issuer."""
    colour = escape(colour)
    achievement = "credential.credentialSubject.achievement"
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="1056" height="816" \
viewBox="0 0 1056 816" font-family="'Noto Sans', system-ui, sans-serif">
  <rect width="1056" height="816" fill="#ffffff"/>
  <rect x="24" y="24" width="1008" height="768" fill="none" stroke="{colour}" stroke-width="6"/>
  <rect x="24" y="24" width="1008" height="96" fill="{colour}"/>
  <text x="528" y="84" text-anchor="middle" font-size="30" font-weight="700" \
fill="#ffffff">{{{{credential.issuer.name}}}}</text>
  <image x="428" y="150" width="200" height="200" href="{{{{{achievement}.image.id}}}}"/>
  <text x="528" y="400" text-anchor="middle" font-size="22" fill="#374151">Open Badge</text>
  <text x="528" y="450" text-anchor="middle" font-size="34" font-weight="700" \
fill="#111827">{{{{{achievement}.name}}}}</text>
  <foreignObject x="128" y="480" width="800" height="150">
    <div xmlns="http://www.w3.org/1999/xhtml" style="font-size:18px;line-height:1.4;\
color:#374151;text-align:center">{{{{{achievement}.description}}}}</div>
  </foreignObject>
  <text x="528" y="680" text-anchor="middle" font-size="18" fill="#374151">Awarded \
{{{{credential.awardedDate}}}} by {{{{credential.issuer.name}}}}</text>
  <text x="528" y="740" text-anchor="middle" font-size="14" \
fill="#4b5563">Verify at {{{{credential.id}}}}</text>
</svg>
""".encode()
