// A certified OpenID Connect provider (panva/oidc-provider) standing in for the national identity service
// (VNeID through the national public-service portal) in chudong's tests and demos.
//
//   node server.js <config.json>
// config.json: {"port": 0-65535, "clients": [{"client_id", "client_secret", "redirect_uris": [...]}],
//               "accounts": {"<subject>": {"pid": "<12-digit ID>", "name": "<full name>"}}}
// Prints "listening <issuer>" on stdout once it accepts requests.
//
// The end user "authenticates" on a one-field form (the account's subject): the provider's job in the tests
// is the protocol — discovery, signed ID tokens, PKCE, one-use codes — not checking passwords.
import { readFileSync } from 'node:fs';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-rs256', use: 'sig', alg: 'RS256' };

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: config.clients.map((c) => ({
    ...c,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [config.cookie_key || 'chudong-test-cookie-key'] },
  claims: { openid: ['sub', 'pid', 'name'] },
  conformIdTokenClaims: false, // the personal ID travels in the ID token, as the national portal sends it
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  ttl: { IdToken: 300, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const account = config.accounts[id];
    if (!account) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...account }; } };
  },
  async loadExistingGrant(ctx) {
    // the national portal's users consent once, at registration: grant what the client asked for
    const { Grant } = ctx.oidc.provider;
    const existing = ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (existing) return Grant.find(existing);
    const grant = new Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid');
    grant.addOIDCClaims(['sub', 'pid', 'name']);
    await grant.save();
    return grant;
  },
});

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === 'GET' && !match[2]) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Sign in</title><form method="post" action="/interaction/${esc(details.uid)}/login">`
      + '<label>Account <input name="login"></label><button>Sign in</button></form>';
    return undefined;
  }
  if (ctx.method === 'POST' && match[2]) {
    const login = (await readForm(ctx.req)).get('login') || '';
    if (!config.accounts[login]) {
      ctx.status = 400;
      ctx.body = `unknown account ${esc(login)}`;
      return undefined;
    }
    ctx.respond = false;
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } },
      { mergeWithLastSubmission: false });
    return undefined;
  }
  return next();
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
