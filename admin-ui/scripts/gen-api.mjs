// `npm run gen:api`: openapi.json -> src/api/schema.d.ts (see api-types.mjs).
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { generate, root, schemaPath } from './api-types.mjs';

writeFileSync(schemaPath, await generate(), 'utf8');
console.log(`gen:api: wrote ${relative(root, schemaPath)}`);
