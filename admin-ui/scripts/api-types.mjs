// Turns openapi.json into the TypeScript of src/api/schema.d.ts. Shared by gen-api.mjs
// (`npm run gen:api`, writes the file) and check-api.mjs (`npm run check-api`, compares),
// so both always make exactly the same text.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The server's two API documents and the types made of each: a municipality's API
 * (`kapu openapi`) and the operators' (`kapu openapi --platform`).
 */
export const documents = [
  { openapi: 'openapi.json', schema: 'src/api/schema.d.ts', command: 'kapu openapi > admin-ui/openapi.json' },
  {
    openapi: 'openapi-platform.json',
    schema: 'src/api/platform-schema.d.ts',
    command: 'kapu openapi --platform > admin-ui/openapi-platform.json',
  },
].map((d) => ({ ...d, openapiPath: join(root, d.openapi), schemaPath: join(root, d.schema) }));

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Fails with a message that says what to do, instead of a stack trace. */
export function fail(message) {
  console.error(`admin-ui: ${message}`);
  process.exit(1);
}

/** Reads and sanity-checks one document (e.g. an empty file left by a failed `kapu openapi > …`). */
export function readDocument({ openapi, openapiPath, command }) {
  let text;
  try {
    text = readFileSync(openapiPath, 'utf8');
  } catch (e) {
    fail(`cannot read ${openapiPath} (${e.code ?? e.message}); make it with \`${command}\``);
  }
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(`${openapi} is not JSON (${e.message}); did \`${command}\` fail?`);
  }
  if (typeof doc !== 'object' || doc === null || !/^3\./.test(String(doc.openapi)) || typeof doc.paths !== 'object') {
    fail(`${openapi} is not an OpenAPI 3 document (no \`openapi: 3.x\` or no \`paths\`)`);
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

/** The text of a document's types (e.g. schema.d.ts for openapi.json). */
export async function generate(document) {
  let ts;
  try {
    ts = await import('openapi-typescript');
  } catch {
    fail('openapi-typescript is not installed; run `npm ci` in admin-ui/ first');
  }
  const { default: openapiTS, astToString, COMMENT_HEADER } = ts;
  const doc = readDocument(document);
  const duplicated = dropDuplicateOperationIds(doc);
  if (duplicated.length) {
    console.warn(`admin-ui: warning: ${document.openapi} reuses operationIds (${duplicated.join(', ')}); `
      + 'those operations are typed inline under their paths instead.');
  }
  const ast = await openapiTS(doc, { silent: true });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}
