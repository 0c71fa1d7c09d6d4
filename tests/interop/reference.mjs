// The Digital Bazaar reference stack, driven by our tests and benchmark over stdin/stdout.
// Input: one JSON object {op: "sign"|"verify"|"bench", ...}; output: one JSON object.
// The document loader serves only the contexts bundled in issuer/jsonld/contexts/ and
// did:key documents derived locally (plus any `documents` the caller passes): no network.
import {readFileSync} from 'node:fs';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
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

async function sign({credential, seedHex, controller, documents}) {
  const key = await keyFromSeed(seedHex, controller);
  const suite = new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022});
  return vc.issue({credential, suite, documentLoader: makeLoader(documents)});
}

async function verify({credential, documents}) {
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  const result = await vc.verifyCredential({
    credential, suite, documentLoader: makeLoader(documents),
    checkStatus: async () => ({verified: true})});
  const errors = [result.error, ...(result.results ?? []).map(r => r.error)]
    .filter(Boolean).map(e => String(e.message ?? e));
  return {verified: result.verified, errors};
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

async function bench({credential, seedHex, iterations}) {
  const key = await keyFromSeed(seedHex);
  const documentLoader = makeLoader();
  const signer = new DataIntegrityProof({signer: key.signer(), cryptosuite: eddsaRdfc2022});
  const unsigned = {...credential, issuer: {...credential.issuer, id: key.controller}};
  let signed = await vc.issue({credential: unsigned, suite: signer, documentLoader});
  const t0 = process.hrtime.bigint();
  for(let i = 0; i < iterations; i++) {
    signed = await vc.issue({credential: unsigned, suite: signer, documentLoader});
  }
  const t1 = process.hrtime.bigint();
  const verifier = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
  for(let i = 0; i < iterations; i++) {
    const result = await vc.verifyCredential({credential: signed, suite: verifier,
      documentLoader, checkStatus: async () => ({verified: true})});
    if(!result.verified) {
      throw new Error('reference failed to verify its own credential');
    }
  }
  const t2 = process.hrtime.bigint();
  return {signSeconds: Number(t1 - t0) / 1e9, verifySeconds: Number(t2 - t1) / 1e9, iterations};
}

const chunks = [];
for await (const chunk of process.stdin) {
  chunks.push(chunk);
}
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const operations = {sign, verify, bench, present};
try {
  const result = await operations[request.op](request);
  process.stdout.write(JSON.stringify({ok: true, result}));
} catch(error) {
  process.stdout.write(JSON.stringify({ok: false, error: String(error.message ?? error)}));
}
