// `npm run check-api`: fails when src/api/schema.d.ts is not what `npm run gen:api` makes of
// openapi.json, i.e. when the API document changed (e.g. CI ran `kapu openapi > admin-ui/openapi.json`
// on a changed server) without regenerating the types, or the types were edited by hand.
// Line endings are ignored (a Windows checkout may turn them into CRLF).
import { readFileSync } from 'node:fs';
import { fail, generate, schemaPath } from './api-types.mjs';

const normalise = (s) => s.replace(/\r\n/g, '\n');
let committed;
try {
  committed = normalise(readFileSync(schemaPath, 'utf8'));
} catch (e) {
  fail(`cannot read ${schemaPath} (${e.code ?? e.message}); run \`npm run gen:api\` in admin-ui/`);
}
const fresh = normalise(await generate());
if (committed !== fresh) {
  const a = committed.split('\n');
  const b = fresh.split('\n');
  const i = a.findIndex((line, n) => line !== b[n]);
  const at = i === -1 ? Math.min(a.length, b.length) : i;
  console.error('check-api: src/api/schema.d.ts is out of date with openapi.json.');
  console.error(`first difference at line ${at + 1}:`);
  console.error(`  committed: ${JSON.stringify(a[at])}`);
  console.error(`  generated: ${JSON.stringify(b[at])}`);
  console.error('Run `npm run gen:api` in admin-ui/, then `npm run build` to find the code that must follow the API.');
  process.exit(1);
}
console.log('check-api: src/api/schema.d.ts matches openapi.json');
