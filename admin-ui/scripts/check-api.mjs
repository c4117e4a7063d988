// Fails when src/api/schema.d.ts is not what openapi-typescript makes of openapi.json,
// i.e. when someone changed the API document without `npm run gen:api` (or edited the types).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'src/api/schema.d.ts');
const dir = mkdtempSync(join(tmpdir(), 'kapu-check-api-'));
const fresh = join(dir, 'schema.d.ts');
try {
  const bin = join(root, 'node_modules/openapi-typescript/bin/cli.js');
  execFileSync(process.execPath, [bin, 'openapi.json', '--output', fresh], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const a = readFileSync(committed, 'utf8');
  const b = readFileSync(fresh, 'utf8');
  if (a !== b) {
    const al = a.split('\n');
    const bl = b.split('\n');
    const i = al.findIndex((line, n) => line !== bl[n]);
    const at = i === -1 ? Math.min(al.length, bl.length) : i;
    console.error('check-api: src/api/schema.d.ts is out of date with openapi.json.');
    console.error(`first difference at line ${at + 1}:`);
    console.error(`  committed: ${JSON.stringify(al[at])}`);
    console.error(`  generated: ${JSON.stringify(bl[at])}`);
    console.error('Run `npm run gen:api` in admin-ui/ and then `npm run build` to find the code to fix.');
    process.exit(1);
  }
  console.log('check-api: src/api/schema.d.ts matches openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
