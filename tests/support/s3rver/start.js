#!/usr/bin/env node
// Test-only S3 server for Ferrite: s3rver (installed by scripts/setup-test-tools.sh into
// ./node_modules) plus two things s3rver itself lacks, put in front of its middleware:
//
//  1. Strict AWS Signature V4 checking. s3rver 3.7.1 only checks that a V4 request names a
//     known access key; it never computes the signature ("V4 signatures have incomplete
//     support") nor compares x-amz-content-sha256 with the body. Real S3 does both, so a
//     client that signs wrongly would pass every test and fail in production. Here a V4
//     request must carry a correct signature (403 SignatureDoesNotMatch otherwise) and, when
//     x-amz-content-sha256 is a hex digest, a body with that SHA-256 (400
//     XAmzContentSHA256Mismatch). UNSIGNED-PAYLOAD is accepted, as S3 accepts it.
//  2. Fault injection for retry tests: `POST /__ferrite/fail?count=N&status=503` (no auth)
//     makes the next N S3 requests fail with that 5xx status and an S3 error body.
//
// Usage: node start.js --directory DIR [--address 127.0.0.1] [--port 4568] [--silent]
//                      [--configure-bucket NAME]... [--service-endpoint HOST]
//                      [--no-verify-sigv4]
// --service-endpoint: virtual-host requests go to BUCKET.s3.HOST (e.g. "localhost": a
// client with endpoint http://s3.localhost:PORT and path_style off; curl resolves
// *.localhost to loopback itself).
// Prints "S3rver listening on ADDR:PORT" once it accepts connections. Credentials are
// s3rver's built-in S3RVER / S3RVER. Stop it with SIGTERM or SIGKILL.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const { PassThrough } = require('stream');

const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');
const S3Error = require('s3rver/lib/models/error');

function parseArgs(argv) {
  const o = { address: '127.0.0.1', port: 4568, silent: false, buckets: [], verify: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '-d' || a === '--directory') o.directory = value();
    else if (a === '-a' || a === '--address') o.address = value();
    else if (a === '-p' || a === '--port') o.port = Number(value());
    else if (a === '-s' || a === '--silent') o.silent = true;
    else if (a === '--configure-bucket') o.buckets.push(value());
    else if (a === '--service-endpoint') o.serviceEndpoint = value();
    else if (a === '--no-verify-sigv4') o.verify = false;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!o.directory) throw new Error('--directory is required');
  return o;
}

// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is %XX.
function uriEncode(s) {
  return encodeURIComponent(s).replace(/[!'()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

const sha256Hex = data => crypto.createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();

// The canonical request of a header-signed V4 request, computed the way S3 does: the path
// decoded then encoded once per segment (S3 does not normalise or double-encode), query
// parameters encoded and sorted, signed headers trimmed with inner spaces collapsed.
function canonicalRequest(req, signedHeaders, payloadHash) {
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQuery = q < 0 ? '' : req.url.slice(q + 1);
  const decode = x => {
    try {
      return decodeURIComponent(x);
    } catch (e) {
      const err = new S3Error('InvalidURI', "Couldn't parse the specified URI.");
      err.status = 400;
      err.expose = true;
      throw err;
    }
  };
  const path = rawPath.split('/').map(seg => uriEncode(decode(seg))).join('/');
  const query = rawQuery === '' ? '' : rawQuery.split('&')
      .map(kv => {
        const eq = kv.indexOf('=');
        const [k, v] = eq < 0 ? [kv, ''] : [kv.slice(0, eq), kv.slice(eq + 1)];
        return [uriEncode(decode(k.replace(/\+/g, ' '))), uriEncode(decode(v.replace(/\+/g, ' ')))];
      })
      .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`).join('&');
  const headers = signedHeaders.map(name => {
    const raw = req.headers[name];
    const value = (Array.isArray(raw) ? raw.join(',') : raw || '').trim().replace(/\s+/g, ' ');
    return `${name}:${value}\n`;
  }).join('');
  return [req.method, path, query, headers, signedHeaders.join(';'), payloadHash].join('\n');
}

function signingKey(secret, date, region, service) {
  return hmac(hmac(hmac(hmac('AWS4' + secret, date), region), service), 'aws4_request');
}

// Throws the S3Error real S3 would answer with, or returns when the signature is right.
function verifyHeaderSignature(req) {
  const auth = req.headers['authorization'];
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) {
    throw new S3Error('AuthorizationHeaderMalformed', 'The authorization header is malformed.');
  }
  const [, accessKeyId, date, region, service, signed, signature] = m;
  const account = AWSAccount.registry.get(accessKeyId);
  if (!account) {
    throw new S3Error('InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: accessKeyId });
  }
  const signedHeaders = signed.split(';');
  const amzDate = req.headers['x-amz-date'] || '';
  if (!signedHeaders.includes('host') || !amzDate.startsWith(date)) {
    throw new S3Error('AuthorizationHeaderMalformed',
      'The authorization header is malformed; host must be signed and the ' +
      'credential date must match x-amz-date.');
  }
  const when = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
      '$1-$2-$3T$4:$5:$6Z'));
  if (!(Math.abs(Date.now() - when) < 15 * 60 * 1000)) {
    throw new S3Error('RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.');
  }
  const creq = canonicalRequest(req, signedHeaders, req.headers['x-amz-content-sha256']);
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(creq)].join('\n');
  const secret = account.accessKeys.get(accessKeyId);
  const expected = hmac(signingKey(secret, date, region, service), stringToSign).toString('hex');
  if (expected !== signature) {
    throw new S3Error('SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. ' +
      'Check your key and signing method.',
      { AWSAccessKeyId: accessKeyId, CanonicalRequest: creq, StringToSign: stringToSign });
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', c => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function strictSigV4() {
  return async function strictSigV4(ctx, next) {
    const auth = ctx.req.headers['authorization'];
    if (!auth || !auth.startsWith('AWS4-HMAC-SHA256')) return next();  // V2 / anonymous: s3rver's rules
    const payloadHash = ctx.req.headers['x-amz-content-sha256'];
    if (!payloadHash) {
      throw new S3Error('InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256');
    }
    verifyHeaderSignature(ctx.req);
    if (/^[0-9a-fA-F]{64}$/.test(payloadHash)) {
      // Buffer the body to check its hash, then hand s3rver a stream of the same bytes.
      const body = await readBody(ctx.req);
      const actual = sha256Hex(body);
      if (actual !== payloadHash.toLowerCase()) {
        const err = new S3Error('XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: actual });
        err.status = 400;
        err.expose = true;
        throw err;
      }
      const replay = new PassThrough();
      replay.end(body);
      ctx.req = replay;  // ctx.headers etc. still come from ctx.request.req, the real request
    }
    return next();
  };
}

function faultInjection() {
  let pending = 0;
  let status = 503;
  return async function faultInjection(ctx, next) {
    if (ctx.path === '/__ferrite/fail' && ctx.method === 'POST') {
      pending = Number(ctx.query.count || 1);
      status = Number(ctx.query.status || 503);
      ctx.status = 204;
      return undefined;
    }
    if (pending > 0) {
      pending--;
      const err = status === 503
        ? new S3Error('SlowDown', 'Injected by tests/support/s3rver/start.js.')
        : new S3Error('InternalError', 'Injected by tests/support/s3rver/start.js.');
      err.status = status;
      throw err;
    }
    return next();
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  fs.mkdirSync(o.directory, { recursive: true });
  const server = new S3rver({
    address: o.address,
    port: o.port,
    silent: o.silent,
    directory: o.directory,
    configureBuckets: o.buckets.map(name => ({ name, configs: [] })),
    ...(o.serviceEndpoint ? { serviceEndpoint: o.serviceEndpoint } : {}),
  });
  // Koa composes its middleware list at listen time: these run before s3rver's own.
  const front = [faultInjection()];
  if (o.verify) front.push(strictSigV4());
  server.middleware.unshift(...front);
  const { address, port } = await server.run();
  console.log('S3rver listening on %s:%d', address, port);
  const stop = () => server.close().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

module.exports = { canonicalRequest, signingKey };

if (require.main === module) {
  main().catch(err => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
}
