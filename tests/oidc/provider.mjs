// An OpenID provider on loopback for tests/web/test_sso.py: panva's certified oidc-provider,
// in its development settings (an http:// issuer, devInteractions' login form, which signs in
// whoever is typed into it). Prints {"issuer": "http://127.0.0.1:PORT"} once it listens.
//
//   node provider.mjs REDIRECT_URI [--claims-in-id-token]
//
// One client, "issuer", with REDIRECT_URI; and clients whose ID tokens this provider spoils on
// purpose after signing them properly, so that the relying party's checks are tested against
// a real token endpoint. Accounts (type one of these ids into the login form): "known" and
// "stranger" have verified e-mails; "unverified" has known's e-mail, not verified.
//
// By default the ID token of the code flow carries no e-mail (OpenID Connect Core 5.4: the
// scope's claims come from the UserInfo endpoint); --claims-in-id-token puts them in it too,
// as many institutions' providers do.
import { createServer } from 'node:http';
import { generateKeyPairSync, sign } from 'node:crypto';

import Provider from 'oidc-provider';

const [redirectUri, ...flags] = process.argv.slice(2);
const SECRET = 'a client secret for tests only';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

const ACCOUNTS = {
  known: { email: 'known@example.org', email_verified: true, name: 'Kim Known' },
  stranger: { email: 'stranger@example.org', email_verified: true, name: 'Sasha Stranger' },
  unverified: { email: 'known@example.org', email_verified: false, name: 'Una Unverified' },
};

const b64 = (value) => Buffer.from(value).toString('base64url');
const parts = (jwt) => jwt.split('.').map((part, i) => (i < 2 ? JSON.parse(Buffer.from(part, 'base64url')) : part));

function signed(header, payload) {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(payload))}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

function resigned(jwt, change) {
  const [header, payload] = parts(jwt);
  return signed(header, { ...payload, ...change(payload) });
}

const now = () => Math.floor(Date.now() / 1000);

// client id -> what happens to the ID token it is given
const SPOIL = {
  'issuer-tampered': (jwt) => {
    const [header, payload, signature] = parts(jwt);
    return `${b64(JSON.stringify(header))}.${b64(JSON.stringify({ ...payload, sub: 'stranger' }))}.${signature}`;
  },
  'issuer-expired': (jwt) => resigned(jwt, () => ({ iat: now() - 7200, exp: now() - 3600 })),
  'issuer-other-nonce': (jwt) => resigned(jwt, () => ({ nonce: 'a nonce from another sign-in' })),
  'issuer-other-audience': (jwt) => resigned(jwt, () => ({ aud: 'someone-else' })),
  'issuer-other-issuer': (jwt) => resigned(jwt, () => ({ iss: 'https://impostor.example' })),
  'issuer-unsigned': (jwt) => {
    const [header, payload] = parts(jwt);
    return `${b64(JSON.stringify({ ...header, alg: 'none' }))}.${b64(JSON.stringify(payload))}.`;
  },
};

const configuration = {
  clients: ['issuer', ...Object.keys(SPOIL)].map((id) => ({
    client_id: id,
    client_secret: SECRET,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  })),
  jwks: { keys: [KEY] },
  cookies: { keys: ['a cookie key for tests only'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: !flags.includes('--claims-in-id-token'),
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    const claims = ACCOUNTS[id];
    return claims && { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  // First-party sign-in: no consent screen, everything the client asks for is granted.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
};

const server = createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  provider.use(async (ctx, next) => {
    await next();
    const spoil = SPOIL[ctx.oidc?.client?.clientId];
    if (spoil && ctx.oidc.route === 'token' && ctx.body?.id_token) {
      ctx.body = { ...ctx.body, id_token: spoil(ctx.body.id_token) };
    }
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
