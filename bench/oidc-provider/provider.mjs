// The reference OpenID Provider for `kapu bench oidc`: node oidc-provider configured like a Kapu
// tenant's provider: RS256 ID tokens, authorization code with PKCE S256 required, a confidential
// client with client_secret_basic, claims by scope (openid profile email), and a refresh token
// with every code exchange, as Kapu issues one.
//
//   node provider.mjs <port>                  its default in-memory storage, constant claims
//   node provider.mjs <port> <postgres-url>   sessions, grants, codes and tokens in PostgreSQL
//                                             (one table, `pg` driver), the account read from it
//
// With a database it keeps what Kapu keeps where Kapu keeps it, so the two compare like with
// like: both durable, both shared by every process of a deployment.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3999);
const databaseUrl = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const claims = (sub) => ({ sub, name: 'Bench Béla', email: 'bench@example.hu', email_verified: true });
let adapter;
let findAccount = (_ctx, sub) => ({ accountId: sub, claims: () => claims(sub) });

if (databaseUrl) {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  await pool.query(`
    CREATE SCHEMA IF NOT EXISTS oidc_provider_bench;
    CREATE TABLE IF NOT EXISTS oidc_provider_bench.model (
      model text NOT NULL, id text NOT NULL, payload jsonb NOT NULL, grant_id text, user_code text, uid text,
      expires_at timestamptz, consumed_at timestamptz, PRIMARY KEY (model, id));
    CREATE INDEX IF NOT EXISTS model_grant ON oidc_provider_bench.model (grant_id);
    CREATE INDEX IF NOT EXISTS model_uid ON oidc_provider_bench.model (uid);
    CREATE TABLE IF NOT EXISTS oidc_provider_bench.account (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL);
    INSERT INTO oidc_provider_bench.account VALUES ('bench', 'Bench Béla', 'bench@example.hu') ON CONFLICT DO NOTHING;`);
  const row = (r) => r.rows[0] && { ...r.rows[0].payload, ...(r.rows[0].consumed_at ? { consumed: true } : {}) };
  const live = 'AND (expires_at IS NULL OR expires_at > now())';
  adapter = class {
    constructor(model) {
      this.model = model;
    }
    async upsert(id, payload, expiresIn) {
      await pool.query(
        `INSERT INTO oidc_provider_bench.model (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
         ON CONFLICT (model, id) DO UPDATE SET payload = $3, grant_id = $4, user_code = $5, uid = $6, expires_at = now() + make_interval(secs => $7)`,
        [this.model, id, payload, payload.grantId, payload.userCode, payload.uid, expiresIn ?? 3600 * 24 * 365],
      );
    }
    async find(id) {
      return row(await pool.query(`SELECT payload, consumed_at FROM oidc_provider_bench.model WHERE model = $1 AND id = $2 ${live}`, [this.model, id]));
    }
    async findByUserCode(code) {
      return row(await pool.query(`SELECT payload, consumed_at FROM oidc_provider_bench.model WHERE model = $1 AND user_code = $2 ${live}`, [this.model, code]));
    }
    async findByUid(uid) {
      return row(await pool.query(`SELECT payload, consumed_at FROM oidc_provider_bench.model WHERE model = $1 AND uid = $2 ${live}`, [this.model, uid]));
    }
    async consume(id) {
      await pool.query('UPDATE oidc_provider_bench.model SET consumed_at = now() WHERE model = $1 AND id = $2', [this.model, id]);
    }
    async destroy(id) {
      await pool.query('DELETE FROM oidc_provider_bench.model WHERE model = $1 AND id = $2', [this.model, id]);
    }
    async revokeByGrantId(grantId) {
      await pool.query('DELETE FROM oidc_provider_bench.model WHERE grant_id = $1', [grantId]);
    }
  };
  findAccount = async (_ctx, sub) => {
    const r = await pool.query('SELECT name, email FROM oidc_provider_bench.account WHERE id = $1', [sub]);
    const a = r.rows[0];
    return a && { accountId: sub, claims: () => ({ sub, name: a.name, email: a.email, email_verified: true }) };
  };
}

const provider = new Provider(issuer, {
  adapter,
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-bench-secret-bench-secret',
    redirect_uris: ['http://127.0.0.1:9/callback'],
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [jwk] },
  pkce: { required: () => true, methods: ['S256'] },
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  issueRefreshToken: () => true,
  findAccount,
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  features: { devInteractions: { enabled: true } },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}${databaseUrl ? ' (PostgreSQL storage)' : ''}`));
