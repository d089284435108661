// Reference OpenID Provider for the benchmark: npm `oidc-provider` v9, single process.
//
// Usage: OP_PORT=4100 OP_CLIENT_ID=... OP_CLIENT_SECRET=... node op.mjs
// Serves http://127.0.0.1:$OP_PORT with one confidential client (client_secret_basic,
// client_credentials) whose access tokens are ES256-signed JWTs for the default resource.
// The in-memory adapter is used (oidc-provider's default); JWT access tokens are not stored.
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT || 4100);
const host = '127.0.0.1';
const issuer = `http://${host}:${port}`;
const clientId = process.env.OP_CLIENT_ID || 'bench';
const clientSecret = process.env.OP_CLIENT_SECRET || 'bench-secret-bench-secret-bench-secret';
const resource = process.env.OP_RESOURCE || 'https://api.bench.invalid';

const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [jwk] },
  cookies: { keys: [clientSecret] },
  scopes: ['openid', 'api'],
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => resource,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
  enabledJWA: { idTokenSigningAlgValues: ['ES256'] },
});

// Silence per-request error logging (benchmarks count errors via wrk).
provider.on('server_error', (_ctx, err) => console.error('server_error', err));

provider.listen(port, host, () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
