// Turns openapi.json into the TypeScript of src/api/schema.d.ts. Shared by gen-api.mjs
// (`npm run gen:api`, writes the file) and check-api.mjs (`npm run check-api`, compares),
// so both always make exactly the same text.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const openapiPath = join(root, 'openapi.json');
export const schemaPath = join(root, 'src/api/schema.d.ts');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Fails with a message that says what to do, instead of a stack trace. */
export function fail(message) {
  console.error(`admin-ui: ${message}`);
  process.exit(1);
}

/** Reads and sanity-checks openapi.json (e.g. an empty file left by a failed `kapu openapi > …`). */
export function readDocument() {
  let text;
  try {
    text = readFileSync(openapiPath, 'utf8');
  } catch (e) {
    fail(`cannot read ${openapiPath} (${e.code ?? e.message}); make it with \`kapu openapi > admin-ui/openapi.json\``);
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`openapi.json is not JSON (${e.message}); did \`kapu openapi > admin-ui/openapi.json\` fail?`);
  }
  if (typeof doc !== 'object' || doc === null || !/^3\./.test(String(doc.openapi)) || typeof doc.paths !== 'object') {
    fail('openapi.json is not an OpenAPI 3 document (no `openapi: 3.x` or no `paths`)');
  }
  return doc;
}

/**
 * openapi-typescript keys `operations` by operationId, so two operations with the same id
 * (e.g. `login` for both `/api/v1/auth/login` and `/api/v1/platform/auth/login`) would
 * silently share one type. Such ids are dropped here, which makes openapi-typescript
 * describe those operations inline under their paths, each with its own type.
 * Returns the duplicated ids (the server should give every operation its own id).
 */
function dropDuplicateOperationIds(doc) {
  const byId = new Map();
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (op && typeof op.operationId === 'string') {
        const ops = byId.get(op.operationId) ?? [];
        ops.push(op);
        byId.set(op.operationId, ops);
      }
    }
  }
  const duplicated = [];
  for (const [id, ops] of byId) {
    if (ops.length < 2) continue;
    duplicated.push(id);
    for (const op of ops) delete op.operationId;
  }
  return duplicated.sort();
}

/** The text of schema.d.ts for the current openapi.json. */
export async function generate() {
  let ts;
  try {
    ts = await import('openapi-typescript');
  } catch {
    fail('openapi-typescript is not installed; run `npm ci` in admin-ui/ first');
  }
  const { default: openapiTS, astToString, COMMENT_HEADER } = ts;
  const doc = readDocument();
  const duplicated = dropDuplicateOperationIds(doc);
  if (duplicated.length) {
    console.warn(`admin-ui: warning: openapi.json reuses operationIds (${duplicated.join(', ')}); `
      + 'those operations are typed inline under their paths instead.');
  }
  const ast = await openapiTS(doc, { silent: true });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}
