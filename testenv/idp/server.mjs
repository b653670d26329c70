// Test OpenID provider for dicomweb_oauth.orthanc, built on the OpenID-certified
// `oidc-provider`. Loopback only. It adds to the real provider only what tests need:
// counting the token requests it received and faults injected on the token endpoint.
//
// Usage: node server.mjs --config idp.json
// The config file (written by `python -m testenv`) holds: host, port, issuer, ttl,
// clients [{client_id, client_secret, token_endpoint_auth_method, scope}],
// resources {indicator: {scope, format: "jwt"|"opaque", audience}}, default_resource,
// trust_proxy (behind a TLS front: trust its X-Forwarded-Proto and Host).
//
// Admin routes (under /__admin/, for tests only):
//   GET  /__admin/stats        counts of token requests received and tokens issued
//   POST /__admin/reset        zero the counters
//   POST /__admin/fault        {"mode": "none"|"status"|"hang", "status": 500,
//                               "retry_after": "2", "hang_seconds": 30, "count": N}
//   POST /__admin/ttl          {"ttl": seconds} lifetime of access tokens issued from now on
//   POST /__admin/rotate-key   replace the signing key; the old one leaves the JWKS, unless
//                              {"overlap": true}: then it stays published (not used to sign)
//   POST /__admin/client-secrets  {"client_id": ..., "secrets": [{"label": ..., "secret": ...}, ...]}
//                              the secrets the client may authenticate with (client_secret_basic),
//                              the first one registered; a secret left out no longer works. The
//                              secret configured at start is labelled "initial". Token request
//                              events record the label of the secret presented ("unknown" if none).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

function parseArgs(argv) {
  const i = argv.indexOf('--config');
  if (i < 0 || !argv[i + 1]) {
    process.stderr.write('usage: node server.mjs --config FILE\n');
    process.exit(2);
  }
  return JSON.parse(readFileSync(argv[i + 1], 'utf8'));
}

const cfg = parseArgs(process.argv);
const state = {
  ttl: cfg.ttl ?? 300,
  fault: { mode: 'none' },
  stats: { token_requests: 0, tokens_issued: 0, token_errors: 0, by_client: {}, events: [] },
};

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

const allScopes = new Set();
for (const rs of Object.values(cfg.resources)) {
  for (const s of rs.scope.split(' ')) allScopes.add(s);
}

function buildProvider(signingKey, retiredKeys = []) {
  const provider = new Provider(cfg.issuer, {
    clients: cfg.clients.map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: c.scope,
    })),
    // The first key of a kind signs; retired keys stay in the JWKS for verification only.
    jwks: { keys: [signingKey, ...retiredKeys] },
    scopes: [...allScopes],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => cfg.default_resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator) => {
          const rs = cfg.resources[indicator];
          if (!rs) throw new errors.InvalidTarget();
          return {
            scope: rs.scope,
            audience: rs.audience ?? indicator,
            accessTokenTTL: state.ttl,
            accessTokenFormat: rs.format ?? 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: { ClientCredentials: () => state.ttl },
    cookies: { keys: [randomUUID()] },
  });
  // Behind the tests' TLS front, the protocol and host clients used come in X-Forwarded-*.
  provider.proxy = cfg.trust_proxy ?? false;
  provider.use(tokenMiddleware);
  provider.on('server_error', (ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  return provider;
}

let signingKey = newSigningKey();
let retiredKeys = [];
let provider = buildProvider(signingKey);
// The secrets each client may use, the registered one first (a rotation overlaps two).
const accepted = Object.fromEntries(cfg.clients.map((c) => [c.client_id, [{ label: 'initial', secret: c.client_secret }]]));
let handler = provider.callback();

function basicCredentials(header) {
  if (!header || !header.startsWith('Basic ')) return {};
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  const dec = (x) => decodeURIComponent(x.replace(/\+/g, ' '));
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

function basicClientId(header) {
  return basicCredentials(header).id;
}

// The label of the presented secret; an accepted secret other than the registered one is
// swapped for the registered one, so that the provider accepts both during a rotation.
function presentedSecret(ctx) {
  const { id, secret } = basicCredentials(ctx.get('authorization'));
  const list = accepted[id];
  const entry = list?.find((e) => e.secret === secret);
  if (entry && entry !== list[0]) {
    const enc = (x) => encodeURIComponent(x);
    ctx.req.headers.authorization = 'Basic ' + Buffer.from(`${enc(id)}:${enc(list[0].secret)}`).toString('base64');
  }
  return entry?.label ?? 'unknown';
}

function sendJson(res, status, obj, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(obj));
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

async function admin(req, res, path) {
  const body = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
  const data = body ? JSON.parse(body) : {};
  if (path === '/__admin/stats' && req.method === 'GET') return sendJson(res, 200, state.stats);
  if (path === '/__admin/reset' && req.method === 'POST') {
    state.stats = { token_requests: 0, tokens_issued: 0, token_errors: 0, by_client: {}, events: [] };
    return sendJson(res, 200, state.stats);
  }
  if (path === '/__admin/fault' && req.method === 'POST') {
    state.fault = { mode: 'none', ...data };
    return sendJson(res, 200, state.fault);
  }
  if (path === '/__admin/ttl' && req.method === 'POST') {
    state.ttl = Number(data.ttl);
    return sendJson(res, 200, { ttl: state.ttl });
  }
  if (path === '/__admin/rotate-key' && req.method === 'POST') {
    const key = newSigningKey();
    retiredKeys = data.overlap ? [signingKey] : [];
    provider = buildProvider(key, retiredKeys);
    signingKey = key;
    handler = provider.callback();
    return sendJson(res, 200, { kid: key.kid });
  }
  if (path === '/__admin/client-secrets' && req.method === 'POST') {
    const client = cfg.clients.find((c) => c.client_id === data.client_id);
    if (!client || !Array.isArray(data.secrets) || data.secrets.length === 0) {
      return sendJson(res, 400, { error: 'client_id of a known client and a non-empty secrets list' });
    }
    accepted[client.client_id] = data.secrets.map((e) => ({ label: String(e.label), secret: String(e.secret) }));
    client.client_secret = accepted[client.client_id][0].secret;
    provider = buildProvider(signingKey, retiredKeys);
    handler = provider.callback();
    return sendJson(res, 200, { client_id: client.client_id, labels: accepted[client.client_id].map((e) => e.label) });
  }
  return sendJson(res, 404, { error: 'unknown admin route' });
}

// Counting and faults, as Koa middleware inside the real provider. Faults apply to the
// token endpoint only; discovery and JWKS stay up so that a test can tell "the identity
// provider refuses tokens" apart from "the identity provider is gone" (for that, the test
// stops the process).
async function tokenMiddleware(ctx, next) {
  if (ctx.path !== '/token' || ctx.method !== 'POST') return next();
  const authorization = ctx.get('authorization');
  const event = {
    t: Date.now() / 1000,
    client_id: basicClientId(authorization),
    auth: authorization.startsWith('Basic ') ? 'basic' : 'body',
    secret: presentedSecret(ctx),
    status: 0,
  };
  state.stats.token_requests += 1;
  state.stats.events.push(event);
  if (state.stats.events.length > 5000) state.stats.events.shift();
  const fault = state.fault;
  let faulted = false;
  if (fault.mode !== 'none' && (fault.count === undefined || fault.count > 0)) {
    if (fault.count !== undefined) fault.count -= 1;
    if (fault.mode === 'hang') {
      await new Promise((r) => setTimeout(r, (fault.hang_seconds ?? 30) * 1000));
    } else if (fault.mode === 'status') {
      faulted = true;
      ctx.status = fault.status ?? 500;
      if (fault.retry_after !== undefined) ctx.set('retry-after', String(fault.retry_after));
      ctx.body = { error: fault.error ?? 'temporarily_unavailable' };
    }
  }
  if (!faulted) await next();
  event.client_id = ctx.oidc?.client?.clientId ?? event.client_id ?? 'unknown';
  event.status = ctx.status;
  state.stats.by_client[event.client_id] = (state.stats.by_client[event.client_id] ?? 0) + 1;
  if (ctx.status === 200) state.stats.tokens_issued += 1;
  else state.stats.token_errors += 1;
  return undefined;
}

const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.startsWith('/__admin/')) {
    admin(req, res, path).catch((e) => sendJson(res, 500, { error: String(e) }));
  } else {
    handler(req, res);
  }
});

server.listen(cfg.port, cfg.host ?? '127.0.0.1', () => {
  process.stdout.write(`idp listening on ${cfg.issuer}\n`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
