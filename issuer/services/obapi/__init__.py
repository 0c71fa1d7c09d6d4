"""The 1EdTech Open Badges API 3.0 (OB 3.0 §6 and §7), both sides.

As **Service Provider** (backpacks and hosts read and write a learner's badges here):
`discovery` the Service Description Document; `clients` dynamic client registration
(RFC 7591); `authorization` the OAuth 2.0 authorization server (authorization code with PKCE
S256, refresh with rotation, revocation; Authlib's server components on our tables);
`resources` the protected endpoints (getCredentials, upsertCredential, getProfile,
putProfile) behind bearer tokens and scopes, named in `scopes`.

As **Consumer** (a learner sends one of their credentials to a backpack): `consumer`.

Every secret we issue (client secrets, codes, tokens, states) is stored as its SHA-256; every
single-use thing is spent by one conditional UPDATE … RETURNING.
"""
