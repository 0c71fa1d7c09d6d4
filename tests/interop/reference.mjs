// The Digital Bazaar reference stack, driven by our tests and benchmark over stdin/stdout.
// Input: one JSON object {op: "sign"|"issueEach"|"verify"|"verifyProof"|"verifyJwt"|"signJwt"|
// "bench"|"present", ...}; output: one JSON object.
// `sign` uses eddsa-rdfc-2022 with an Ed25519 key from `seedHex`, or ecdsa-rdfc-2019 with the
// P-256 key `secretKeyMultibase` (+ `publicKeyMultibase`); `verify` knows both suites.
// The document loader serves only the contexts bundled in issuer/jsonld/contexts/ and
// did:key documents derived locally (plus any `documents` the caller passes): no network.
import {readFileSync} from 'node:fs';
import * as jose from 'jose';
import * as vc from '@digitalbazaar/vc';
import jsigs from 'jsonld-signatures';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {cryptosuite as ecdsaRdfc2019} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {Ed25519Signature2020} from '@digitalbazaar/ed25519-signature-2020';
import {Ed25519VerificationKey2020} from
  '@digitalbazaar/ed25519-verification-key-2020';

const contextsDir = new URL('../../issuer/jsonld/contexts/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', contextsDir)));
const contexts = new Map(manifest.contexts.map(
  entry => [entry.url, JSON.parse(readFileSync(new URL(entry.file, contextsDir)))]));

function didKeyDocument(did) {
  const multibase = did.slice('did:key:'.length);
  const method = {id: `${did}#${multibase}`, type: 'Multikey', controller: did,
    publicKeyMultibase: multibase};
  return {'@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
    id: did, verificationMethod: [method], assertionMethod: [method.id],
    authentication: [method.id]};
}

function makeLoader(documents = {}) {
  return async url => {
    const found = contexts.get(url) ?? documents[url];
    if(found) {
      return {contextUrl: null, documentUrl: url, document: found};
    }
    if(url.startsWith('did:key:')) {
      const [did, fragment] = url.split('#');
      const document = didKeyDocument(did);
      if(fragment) {
        return {contextUrl: null, documentUrl: url, document: {
          '@context': 'https://w3id.org/security/multikey/v1',
          ...document.verificationMethod[0]}};
      }
      return {contextUrl: null, documentUrl: url, document};
    }
    throw new Error(`document not available offline: ${url}`);
  };
}

async function keyFromSeed(seedHex, controller) {
  const seed = Uint8Array.from(Buffer.from(seedHex, 'hex'));
  const key = await Ed25519Multikey.generate({seed});
  const did = controller ?? `did:key:${key.publicKeyMultibase}`;
  key.controller = did;
  key.id = `${did}#${key.publicKeyMultibase}`;
  return key;
}

async function p256Key({secretKeyMultibase, publicKeyMultibase}, controller) {
  const did = controller ?? `did:key:${publicKeyMultibase}`;
  return EcdsaMultikey.from({
    '@context': 'https://w3id.org/security/multikey/v1', type: 'Multikey',
    id: `${did}#${publicKeyMultibase}`, controller: did, publicKeyMultibase,
    secretKeyMultibase});
}

// `proof` (optional) holds proof options the signature covers too, such as the proof's `id`
// (which a later proof of a chain names in its `previousProof`).
async function sign({
  credential, seedHex, controller, documents, proof, suite: suiteName, ...key
}) {
  let suite;
  if(suiteName === 'ecdsa-rdfc-2019') {
    const signer = (await p256Key(key, controller)).signer();
    suite = new DataIntegrityProof({signer, cryptosuite: ecdsaRdfc2019});
  } else {
    const signer = (await keyFromSeed(seedHex, controller)).signer();
    suite = new DataIntegrityProof({signer, cryptosuite: eddsaRdfc2022});
  }
  if(proof) {
    suite.proof = proof;
  }
  return vc.issue({credential, suite, documentLoader: makeLoader(documents)});
}

// Try to issue each of `credentials` (eddsa-rdfc-2022, the key from `seedHex`): for each, the
// signed credential, or the error the reference refused it with. One process for many cases.
async function issueEach({credentials, seedHex}) {
  const results = [];
  for(const credential of credentials) {
    try {
      results.push({issued: true, credential: await sign({credential, seedHex})});
    } catch(error) {
      results.push({issued: false, error: String(error.message ?? error)});
    }
  }
  return results;
}

// Both suites by default: jsonld-signatures matches each proof of a set to a suite it is
// given, and leaves a proof whose suite it is not given unchecked.
const CRYPTOSUITES = {'eddsa-rdfc-2022': eddsaRdfc2022, 'ecdsa-rdfc-2019': ecdsaRdfc2019};

// `proofResults` adds what the reference found for each proof it examined.
async function verify({
  credential, documents, suites = Object.keys(CRYPTOSUITES), proofResults = false
}) {
  const suite = suites.map(name => new DataIntegrityProof({cryptosuite: CRYPTOSUITES[name]}));
  const result = await vc.verifyCredential({
    credential, suite, documentLoader: makeLoader(documents),
    checkStatus: async () => ({verified: true})});
  const errors = [result.error, ...(result.results ?? []).map(r => r.error)]
    .filter(Boolean).map(e => String(e.message ?? e));
  if(proofResults) {
    const proofs = (result.results ?? []).map(
      r => ({cryptosuite: r.proof?.cryptosuite, verified: r.verified}));
    return {verified: result.verified, errors, proofs};
  }
  return {verified: result.verified, errors};
}

// The proofs alone (jsonld-signatures with the assertionMethod purpose), without the VC
// library's rule that the issuer be the key's controller: for specification examples.
async function verifyProof({document, documents}) {
  const suite = Object.values(CRYPTOSUITES).map(
    cryptosuite => new DataIntegrityProof({cryptosuite}));
  const result = await jsigs.verify(document, {
    suite, purpose: new jsigs.purposes.AssertionProofPurpose(),
    documentLoader: makeLoader(documents)});
  return {verified: result.verified};
}

// A VC-JWT (OB 3.0 `jwt` or VC-JOSE-COSE `vc+jwt`) checked by panva/jose: the `kid` resolved
// through the same offline loader, its Multikey made a JWK by Digital Bazaar's key libraries,
// and the algorithm pinned to the key's type (ES256 for P-256, EdDSA for Ed25519).
async function verifyJwt({token, documents, now}) {
  const {kid} = jose.decodeProtectedHeader(token);
  const {document: method} = await makeLoader(documents)(kid);
  const p256 = method.publicKeyMultibase.startsWith('zDn');
  const Multikey = p256 ? EcdsaMultikey : Ed25519Multikey;
  const jwk = await Multikey.toJwk({keyPair: await Multikey.from(method)});
  const algorithm = p256 ? 'ES256' : 'EdDSA';
  try {
    const {payload, protectedHeader} = await jose.jwtVerify(
      token, await jose.importJWK(jwk, algorithm),
      {algorithms: [algorithm], currentDate: now ? new Date(now) : undefined});
    return {verified: true, alg: protectedHeader.alg, typ: protectedHeader.typ,
      controller: method.controller, payload};
  } catch(error) {
    return {verified: false, error: String(error.code ?? error.message)};
  }
}

// An ES256 VC-JWT signed by panva/jose with the P-256 key (`claims` is the payload as given).
async function signJwt({claims, typ = 'JWT', controller, ...key}) {
  const keyPair = await p256Key(key, controller);
  const jwk = await EcdsaMultikey.toJwk({keyPair, secretKey: true});
  return new jose.SignJWT(claims)
    .setProtectedHeader({alg: 'ES256', typ, kid: keyPair.id})
    .sign(await jose.importJWK(jwk, 'ES256'));
}

// A wallet's DIDAuth presentation: holder = its did:key, signed for `challenge` and `domain`
// with eddsa-rdfc-2022 or, as the Learner Credential Wallet does, Ed25519Signature2020.
async function present({seedHex, challenge, domain, suite: suiteName}) {
  const key = await keyFromSeed(seedHex);
  const presentation = vc.createPresentation({holder: key.controller});
  let suite;
  if(suiteName === 'Ed25519Signature2020') {
    const legacyKey = await Ed25519VerificationKey2020.generate({
      seed: Uint8Array.from(Buffer.from(seedHex, 'hex')), controller: key.controller});
    legacyKey.id = `${key.controller}#${legacyKey.fingerprint()}`;
    suite = new Ed25519Signature2020({key: legacyKey});
    presentation['@context'] = [
      'https://www.w3.org/2018/credentials/v1',
      'https://w3id.org/security/suites/ed25519-2020/v1'
    ];
  } else {
    suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022});
  }
  return vc.signPresentation({presentation, suite, challenge, domain,
    documentLoader: makeLoader()});
}

// The benchmark runs the stack as its authors ship it: one suite and one loader reused; the
// loader hands out frozen contexts tagged `static`, so jsonld.js keeps their resolved form
// across operations (as @digitalbazaar/security-document-loader does); and each issue gets a
// fresh copy of the credential. vc.issue() adds its proof to the object it is given: reusing
// one object made every signature sign (and every verification verify) one more proof than
// the last, which is why this harness once slowed down with the number of iterations.
function staticLoader() {
  const frozen = new Map([...contexts].map(([url, doc]) => [url, deepFreeze(structuredClone(doc))]));
  const dids = new Map();
  return async url => {
    const context = frozen.get(url);
    if(context) {
      return {contextUrl: null, documentUrl: url, document: context, tag: 'static'};
    }
    if(!dids.has(url)) {
      dids.set(url, (await makeLoader()(url)).document);
    }
    return {contextUrl: null, documentUrl: url, document: dids.get(url)};
  };
}

function deepFreeze(value) {
  Object.freeze(value);
  for(const child of Object.values(value)) {
    if(child && typeof child === 'object' && !Object.isFrozen(child)) {
      deepFreeze(child);
    }
  }
  return value;
}

async function timed(iterations, step) {
  const times = [];
  for(let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await step(i);
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return times;
}

// The first `warmup` credentials warm the stack up (contexts resolved, hot code compiled by
// the JIT, as in a running service); timed iteration i then signs credentials[warmup + i],
// and verification iteration i verifies what that signing made: what our side does.
async function bench({credentials, seedHex, iterations, warmup}) {
  const key = await keyFromSeed(seedHex);
  const documentLoader = staticLoader();
  const signer = new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022});
  const unsigned = credentials.map(
    credential => ({...credential, issuer: {...credential.issuer, id: key.controller}}));
  const issue = i => vc.issue({credential: structuredClone(unsigned[i]), suite: signer,
    documentLoader});
  const verifier = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const verify = async credential => {
    const result = await vc.verifyCredential({credential, suite: verifier, documentLoader,
      checkStatus: async () => ({verified: true})});
    if(!result.verified) {
      throw new Error('reference failed to verify its own credential');
    }
  };
  for(let i = 0; i < warmup; i++) {
    await verify(await issue(i));
  }
  const signed = [];
  const signTimes = await timed(iterations, async i => {
    signed.push(await issue(warmup + i));
  });
  const verifyTimes = await timed(iterations, i => verify(signed[i]));
  const sum = times => times.reduce((a, b) => a + b, 0);
  return {
    signSeconds: sum(signTimes), verifySeconds: sum(verifyTimes), iterations,
    signTimes, verifyTimes, proofs: Math.max(...signed.map(c => [c.proof].flat().length)),
    configuration: 'vc.issue/verifyCredential, one DataIntegrityProof suite reused, ' +
      'frozen static contexts, a fresh copy of each credential per issue, warm caches, ' +
      'no status check'
  };
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const operations = {
  sign, issueEach, verify, verifyProof, verifyJwt, signJwt, bench, present
};
try {
  const result = await operations[request.op](request);
  process.stdout.write(JSON.stringify({ok: true, result}));
} catch(error) {
  process.stdout.write(JSON.stringify({ok: false, error: String(error.message ?? error)}));
}
