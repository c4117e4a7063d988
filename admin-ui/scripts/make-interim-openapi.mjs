// One-off generator for the hand-made interim openapi.json (kept for reference;
// the real document comes from `kapu openapi > admin-ui/openapi.json`).
import { writeFileSync } from 'node:fs';

const problem = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
const json = (ref) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const body = (ref) => ({ required: true, content: json(ref) });
const ok = (ref, description = 'OK') => ({ description, content: json(ref) });
const err = (description) => ({ description, content: problem });
const csrf = [{ session: [], csrf: [] }];

function authPaths(prefix, tag) {
  return {
    [`${prefix}/auth/login`]: {
      post: {
        operationId: `${tag}Login`, tags: [tag], summary: 'Sign in with email and password',
        requestBody: body('LoginRequest'),
        responses: {
          200: ok('LoginResponse'),
          400: err('Invalid request'),
          401: err('urn:kapu:problem:invalid-credentials'),
          429: err('urn:kapu:problem:too-many-attempts'),
        },
      },
    },
    [`${prefix}/auth/totp`]: {
      post: {
        operationId: `${tag}Totp`, tags: [tag], summary: 'Second factor: TOTP code',
        security: csrf, requestBody: body('TotpCode'),
        responses: { 200: ok('LoginResponse'), 401: err('urn:kapu:problem:invalid-totp'), 403: err('CSRF') },
      },
    },
    [`${prefix}/auth/totp/enrol`]: {
      post: {
        operationId: `${tag}TotpEnrol`, tags: [tag], summary: 'Start TOTP enrolment',
        security: csrf,
        responses: { 200: ok('TotpEnrolment'), 401: err('urn:kapu:problem:unauthenticated'), 403: err('CSRF') },
      },
    },
    [`${prefix}/auth/totp/enrol/confirm`]: {
      post: {
        operationId: `${tag}TotpEnrolConfirm`, tags: [tag], summary: 'Confirm TOTP enrolment',
        security: csrf, requestBody: body('TotpCode'),
        responses: { 200: ok('LoginResponse'), 401: err('urn:kapu:problem:invalid-totp'), 403: err('CSRF') },
      },
    },
    [`${prefix}/auth/logout`]: {
      post: {
        operationId: `${tag}Logout`, tags: [tag], summary: 'Sign out',
        security: csrf,
        responses: { 204: { description: 'Signed out' }, 403: err('CSRF') },
      },
    },
    [`${prefix}/me`]: {
      get: {
        operationId: `${tag}Me`, tags: [tag], summary: 'The signed-in staff member', security: [{ session: [] }],
        responses: { 200: ok('Me'), 401: err('urn:kapu:problem:unauthenticated') },
      },
    },
  };
}

const doc = {
  openapi: '3.1.0',
  info: {
    title: 'Kapu API',
    version: '0.1.0',
    description: 'INTERIM hand-written document; replace with `kapu openapi > admin-ui/openapi.json`.',
    license: { name: 'EUPL-1.2', identifier: 'EUPL-1.2' },
  },
  servers: [{ url: '/' }, { url: '/t/{slug}', variables: { slug: { default: 'hegyvidek' } } }],
  paths: {
    ...authPaths('/api/v1', 'staff'),
    '/api/v1/overview': {
      get: {
        operationId: 'staffOverview', tags: ['staff'], summary: "The tenant's overview", security: [{ session: [] }],
        responses: { 200: ok('Overview'), 401: err('urn:kapu:problem:unauthenticated'), 403: err('MFA not passed') },
      },
    },
    ...authPaths('/api/v1/platform', 'platform'),
    '/api/v1/platform/tenants': {
      get: {
        operationId: 'platformTenants', tags: ['platform'], summary: 'All tenants', security: [{ session: [] }],
        responses: { 200: ok('TenantList'), 401: err('urn:kapu:problem:unauthenticated'), 403: err('MFA not passed') },
      },
    },
  },
  components: {
    securitySchemes: {
      session: { type: 'apiKey', in: 'cookie', name: 'kapu_session', description: 'HttpOnly session cookie' },
      csrf: { type: 'apiKey', in: 'header', name: 'X-CSRF-Token', description: 'csrf_token from the login or me response; every non-GET request except login' },
    },
    schemas: {
      LoginRequest: {
        type: 'object', required: ['email', 'password'],
        properties: { email: { type: 'string' }, password: { type: 'string' } },
      },
      TotpCode: { type: 'object', required: ['code'], properties: { code: { type: 'string' } } },
      MfaState: { type: 'string', enum: ['required', 'enrol', 'passed'] },
      StaffRole: { type: 'string', enum: ['clerk', 'admin', 'operator'] },
      Staff: {
        type: 'object', required: ['id', 'email', 'display_name', 'role'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          email: { type: 'string' },
          display_name: { type: 'string' },
          role: { $ref: '#/components/schemas/StaffRole' },
        },
      },
      LoginResponse: {
        type: 'object', required: ['mfa', 'csrf_token', 'staff'],
        properties: {
          mfa: { $ref: '#/components/schemas/MfaState' },
          csrf_token: { type: 'string' },
          staff: { $ref: '#/components/schemas/Staff' },
        },
      },
      TotpEnrolment: {
        type: 'object', required: ['secret', 'otpauth_uri'],
        properties: { secret: { type: 'string', description: 'base32' }, otpauth_uri: { type: 'string' } },
      },
      Scope: { type: 'string', enum: ['tenant', 'platform'] },
      TenantRef: {
        type: 'object', required: ['slug', 'name'],
        properties: { slug: { type: 'string' }, name: { type: 'string' } },
      },
      Me: {
        type: 'object', required: ['staff', 'mfa', 'csrf_token', 'scope', 'tenant'],
        properties: {
          staff: { $ref: '#/components/schemas/Staff' },
          mfa: { $ref: '#/components/schemas/MfaState' },
          csrf_token: { type: 'string' },
          scope: { $ref: '#/components/schemas/Scope' },
          tenant: { oneOf: [{ $ref: '#/components/schemas/TenantRef' }, { type: 'null' }] },
        },
      },
      OverviewTenant: {
        type: 'object', required: ['slug', 'name', 'domains'],
        properties: {
          slug: { type: 'string' }, name: { type: 'string' },
          domains: { type: 'array', items: { type: 'string' } },
        },
      },
      JobCounts: {
        type: 'object', required: ['pending', 'dead'],
        properties: { pending: { type: 'integer', format: 'int64' }, dead: { type: 'integer', format: 'int64' } },
      },
      Overview: {
        type: 'object', required: ['tenant', 'staff_count', 'client_count', 'jobs'],
        properties: {
          tenant: { $ref: '#/components/schemas/OverviewTenant' },
          staff_count: { type: 'integer', format: 'int64' },
          client_count: { type: 'integer', format: 'int64' },
          jobs: { $ref: '#/components/schemas/JobCounts' },
        },
      },
      TenantStatus: { type: 'string', enum: ['active', 'suspended'] },
      TenantSummary: {
        type: 'object', required: ['slug', 'name', 'domains', 'status'],
        properties: {
          slug: { type: 'string' }, name: { type: 'string' },
          domains: { type: 'array', items: { type: 'string' } },
          status: { $ref: '#/components/schemas/TenantStatus' },
        },
      },
      TenantList: {
        type: 'object', required: ['tenants'],
        properties: { tenants: { type: 'array', items: { $ref: '#/components/schemas/TenantSummary' } } },
      },
      FieldError: {
        type: 'object', required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
      Problem: {
        type: 'object', required: ['type', 'title', 'status'],
        description: 'RFC 9457 problem details',
        properties: {
          type: { type: 'string', examples: ['urn:kapu:problem:invalid-credentials'] },
          title: { type: 'string' },
          status: { type: 'integer', format: 'int32' },
          detail: { type: 'string' },
          errors: { type: 'array', items: { $ref: '#/components/schemas/FieldError' } },
        },
      },
    },
  },
};

writeFileSync(new URL('../openapi.json', import.meta.url), JSON.stringify(doc, null, 2) + '\n');
