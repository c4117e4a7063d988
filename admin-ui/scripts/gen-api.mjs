// `npm run gen:api`: openapi.json -> src/api/schema.d.ts and openapi-platform.json ->
// src/api/platform-schema.d.ts (see api-types.mjs).
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { documents, generate, root } from './api-types.mjs';

for (const d of documents) {
  writeFileSync(d.schemaPath, await generate(d), 'utf8');
  console.log(`gen:api: wrote ${relative(root, d.schemaPath)}`);
}
