// `npm run check-api`: fails when src/api/schema.d.ts (or platform-schema.d.ts) is not what
// `npm run gen:api` makes of openapi.json (or openapi-platform.json), i.e. when an API document
// changed (e.g. CI ran `kapu openapi > admin-ui/openapi.json` on a changed server) without
// regenerating the types, or the types were edited by hand.
// Line endings are ignored (a Windows checkout may turn them into CRLF).
import { readFileSync } from 'node:fs';
import { documents, fail, generate } from './api-types.mjs';

const normalise = (s) => s.replace(/\r\n/g, '\n');
for (const d of documents) {
  let committed;
  try {
    committed = normalise(readFileSync(d.schemaPath, 'utf8'));
  } catch (e) {
    fail(`cannot read ${d.schemaPath} (${e.code ?? e.message}); run \`npm run gen:api\` in admin-ui/`);
  }
  const fresh = normalise(await generate(d));
  if (committed !== fresh) {
    const a = committed.split('\n');
    const b = fresh.split('\n');
    const i = a.findIndex((line, n) => line !== b[n]);
    const at = i === -1 ? Math.min(a.length, b.length) : i;
    console.error(`check-api: ${d.schema} is out of date with ${d.openapi}.`);
    console.error(`first difference at line ${at + 1}:`);
    console.error(`  committed: ${JSON.stringify(a[at])}`);
    console.error(`  generated: ${JSON.stringify(b[at])}`);
    console.error('Run `npm run gen:api` in admin-ui/, then `npm run build` to find the code that must follow the API.');
    process.exit(1);
  }
  console.log(`check-api: ${d.schema} matches ${d.openapi}`);
}
