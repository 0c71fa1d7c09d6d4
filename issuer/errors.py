"""Every error the issuer raises on purpose, in one tree (httpx style).

    IssuerError
    ├── InvalidInput            bad input from a person or a file: a clear message
    │   ├── FrameworkInvalid    a skills framework file that does not follow the format
    │   ├── CredentialInvalid   a credential that cannot be signed or read
    │   ├── JsonLdInvalid       JSON-LD that drops a term or leaves a type undefined
    │   ├── ContextNotBundled   a JSON-LD context URL we do not ship (we never fetch contexts)
    │   ├── Unreachable         a remote document that could not be retrieved (network, policy)
    │   ├── KeyNotBound         a verification method its controller does not publish as such
    │   └── UnsupportedCurve    a well-formed proof on a curve we do not implement (P-384)
    ├── NotFound
    ├── NotAuthenticated        no or bad credentials (HTTP 401)
    ├── RateLimited             too many attempts from one client (HTTP 429)
    ├── PermissionDenied
    │   └── SelfConfirmation    a supervisor acting on their own record
    ├── Conflict
    │   └── AlreadyIssued       an active credential exists for this learner and Achievement
    ├── KeyMaterialError        key material missing, unreadable or locked
    └── ProofError              a proof that cannot be created

The core raises these; only the edges (web, CLI) turn them into HTTP statuses or exit codes.
A failed *verification* is not an error: it is a VerificationReport with failed checks.
"""

from __future__ import annotations


class IssuerError(Exception):
    """Base of every error raised on purpose by the issuer."""


class InvalidInput(IssuerError):
    """Input that cannot be accepted; the message says what and where."""


class FrameworkInvalid(InvalidInput):
    """A skills framework file that does not follow the format.

    `source` names the file and `path` the JSON path of the offending value, so a coordinator can
    find the problem without reading code.
    """

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source = source
        self.path = path
        self.problem = problem
        super().__init__(f"{source}: {path}: {problem}")


class CredentialInvalid(InvalidInput):
    """A credential (or other document) that cannot be signed or parsed."""


class JsonLdInvalid(InvalidInput):
    """JSON-LD expansion would drop a property or leave a type undefined.

    Verifiers built on jsonld.js safe mode reject such documents, so we never sign one.
    """


class ContextNotBundled(InvalidInput):
    """A JSON-LD context that is not bundled; contexts are never loaded from the network."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"JSON-LD context {url!r} is not bundled with the issuer; "
            "contexts are never loaded from the network"
        )


class Unreachable(InvalidInput):
    """A remote document (a controller document, a status list) could not be retrieved:
    no network, refused by policy, too slow or too large. For a verifier this means "not
    checked", never "passed" and never "forged"."""


class KeyNotBound(InvalidInput):
    """A verification method that cannot speak for a controller: absent from the controller
    document that was resolved, controlled by someone else, or not authorized for the proof's
    purpose. `code` is the Controlled Identifiers 1.0 error name."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class UnsupportedCurve(InvalidInput):
    """A proof in a cryptosuite we implement, but on a curve we do not (ecdsa-rdfc-2019 with
    P-384): for a verifier this means "not checked", never "forged"."""


class NotFound(IssuerError):
    """The thing asked for does not exist (or the caller may not know that it does)."""


class NotAuthenticated(IssuerError):
    """No valid sign-in or token; says nothing about whether the account exists."""


class RateLimited(IssuerError):
    """Too many requests of one kind from one client; `retry_after` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(f"too many attempts; try again in {retry_after} seconds")


class PermissionDenied(IssuerError):
    """The caller is known but may not do this."""


class SelfConfirmation(PermissionDenied):
    """Supervisors never confirm or attest for themselves."""


class Conflict(IssuerError):
    """The request clashes with the current state (already issued, already revoked...)."""


class AlreadyIssued(Conflict):
    """Exactly one active credential per learner and Achievement."""


class KeyMaterialError(IssuerError):
    """Signing key missing, unreadable, or locked by a passphrase we do not have.

    Messages name the file, never the key bytes or the passphrase.
    """


class ProofError(IssuerError):
    """A proof could not be created (not: a proof failed to verify, which is a result)."""
