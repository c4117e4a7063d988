// Runs the browser tests against tools/mock-server.mjs instead of the real server.
// Useful while changing the admin UI or the tests; `cd admin-ui && npm run build` first.
//   node tests/browser/tools/run-against-mock.mjs [extra node --test args]
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURE, startMock } from './mock-server.mjs';

const testsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = await startMock(0);
const env = { ...process.env, ...FIXTURE, KAPU_BASE_URL: `http://127.0.0.1:${server.address().port}` };
const child = spawn(process.execPath, ['--test', ...process.argv.slice(2), testsDir], { env, stdio: 'inherit' });
child.on('exit', (code) => {
  server.close();
  process.exit(code ?? 1);
});
