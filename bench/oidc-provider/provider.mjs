// The reference OpenID Provider for `kapu bench oidc`: node oidc-provider configured like a Kapu
// tenant's provider: RS256 ID tokens, authorization code with PKCE S256 required, a confidential
// client with client_secret_basic, claims by scope (openid profile email). Its storage is its
// default in-memory adapter (Kapu keeps every code and token in PostgreSQL).
//
//   node provider.mjs <port>
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3999);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-bench-secret-bench-secret',
    redirect_uris: ['http://127.0.0.1:9/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true, methods: ['S256'] },
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  findAccount: (_ctx, sub) => ({
    accountId: sub,
    claims: () => ({ sub, name: 'Bench Béla', email: 'bench@example.hu', email_verified: true }),
  }),
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
