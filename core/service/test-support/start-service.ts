// A ConsoleService started in a process of its own (`node --import tsx start-service.ts DIR`), for the tests that
// need another process: a second console on one directory, a start under another user. Prints one line: `started
// pid N`, or `error: <message>` and exits 1. With --hold it keeps running until stdin closes.

import { ConsoleService } from '../console-service.js';

const [dir, flag] = process.argv.slice(2);
const service = new ConsoleService({ dataDir: dir!, autoStartDemo: false, owner: 'start-service (test)' });
try {
  await service.start();
  process.stdout.write(`started pid ${process.pid}\n`);
  if (flag === '--hold') {
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.once('end', resolve));
  }
  await service.close();
} catch (err) {
  process.stdout.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
