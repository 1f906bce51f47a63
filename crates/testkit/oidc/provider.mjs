// A real OpenID Connect provider for Portico's sign-in tests: the npm package `oidc-provider`
// (the certified implementation by panva), on 127.0.0.1 at a free port, with its development
// login and consent pages. Any login is accepted; the account's claims come from ACCOUNTS (JSON
// `{login: {email, name, ...}}`), or are made up from the login for one not listed.
//
// Environment: REDIRECT_URIS (comma-separated), POST_LOGOUT_URIS (comma-separated),
// CLIENT_SECRET, ACCOUNTS, ACCESS_TOKEN_TTL (seconds, default 3600).
// Prints `listening <issuer>` on stdout once it answers.
import http from 'node:http';
import Provider from 'oidc-provider';

const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const list = (v) => (v || '').split(',').filter(Boolean);

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'portico',
      client_secret: process.env.CLIENT_SECRET || 'portico-test-secret',
      redirect_uris: list(process.env.REDIRECT_URIS),
      post_logout_redirect_uris: list(process.env.POST_LOGOUT_URIS),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, preferred_username: id, email: `${id}@example.com`, email_verified: true, ...(accounts[id] || {}) }),
    }),
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true }, revocation: { enabled: true } },
    // Portico refreshes sessions when their access token expires: give it refresh tokens.
    issueRefreshToken: () => true,
    ttl: {
      AccessToken: Number(process.env.ACCESS_TOKEN_TTL || 3600),
      IdToken: 3600,
      RefreshToken: 86400,
      Interaction: 600,
      Session: 86400,
      Grant: 86400,
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  server.on('request', provider.callback());
  console.log(`listening ${issuer}`);
});

process.on('SIGTERM', () => process.exit(0));
