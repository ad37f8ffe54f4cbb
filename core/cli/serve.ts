// `serve`: browser mode. The ConsoleService with the renderer and the WebSocket API on one 127.0.0.1 origin,
// guarded by a token made for this launch; prints the URL (token in its fragment) and runs until Ctrl-C.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { consoleContract } from '../api/console-contract.js';
import { serve } from '../api/rpc.js';
import { startBrowserServer } from '../api/ws-server.js';
import { ConsoleService, consoleHandlers } from '../service/console-service.js';
import { UsageError, parse } from './args.js';
import { defaultDataDir } from './data-dir.js';
import { openBrowser } from './open-browser.js';

export const SERVE_HELP = `Usage: colo-console serve [options]

Runs the console in browser mode: serves the UI and its API on 127.0.0.1 only, with a token made for this launch,
and prints the URL to open: the token is in its #token= part, which the browser keeps to itself. The embedded
simulator's demo pair starts protected.

Options:
  --port N          port to listen on (default: a free one)
  --open            open the URL in the default browser
  --data-dir DIR    where the registry, settings, history and audit log live (default: ${defaultDataDir()})
  --no-demo         do not start protecting the demo pair
  -h, --help        show this help`;

/** The built renderer: next to this file in a package (dist/), or out/renderer in a clone. */
export function rendererDir(): string {
  const candidates = [
    path.join(import.meta.dirname, '..', '..', 'out', 'renderer'),
    path.join(import.meta.dirname, '..', '..', '..', 'out', 'renderer'),
  ];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates[0]!;
}

export async function serveCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values } = parse('serve', argv, {
    port: { type: 'string' },
    open: { type: 'boolean' },
    'data-dir': { type: 'string' },
    'no-demo': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    out(SERVE_HELP);
    return 0;
  }
  let port = 0;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port: '${values.port}' is not a port number (0–65535)`);
  }
  const staticDir = rendererDir();
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    throw new UsageError(`the UI is not built (${staticDir} has no index.html); run 'npm run build' first`);
  }
  const dataDir = path.resolve(values['data-dir'] ?? defaultDataDir());
  const service = new ConsoleService({
    dataDir,
    autoStartDemo: values['no-demo'] !== true,
    onError: (err, where) => process.stderr.write(`colo-console: ${where}: ${err instanceof Error ? err.message : String(err)}\n`),
  });
  await service.start();
  for (const p of service.problems) out(`note: ${p.file}: ${p.message}${p.movedTo ? ` (moved aside to ${p.movedTo})` : ''}`);
  const handlers = consoleHandlers(service, { transport: 'browser' });
  let server;
  try {
    server = await startBrowserServer({
      staticDir,
      port,
      onChannel: (channel) => {
        serve(consoleContract, handlers, channel);
      },
      // A connection closed for not reading its replies, a message over the size limit: one line each, no stack.
      onError: (err) => process.stderr.write(`colo-console: browser mode: ${err instanceof Error ? err.message : String(err)}\n`),
    });
  } catch (err) {
    await service.close();
    throw err;
  }
  out(`COLO Console (browser mode) is at ${server.url}`);
  out(`Data: ${dataDir}. Press Ctrl-C to stop.`);
  if (values.open && !(await openBrowser(server.url))) out('No browser could be opened here; open the URL above yourself.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  out('Stopping…');
  await server.close();
  await service.close();
  return 0;
}
