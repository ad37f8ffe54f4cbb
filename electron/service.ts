// The one place the desktop app touches core/service. Everything else in electron/ sees only RunningService.

import type { Handlers } from '../core/api/server.js';
import type { ConsoleContract, HostInfo, PairInfo } from '../core/api/console-contract.js';
import { ConsoleService, consoleHandlers } from '../core/service/console-service.js';

export interface RunningService {
  /** What serve() runs the console contract with, once per page session. */
  readonly handlers: Handlers<ConsoleContract>;
  /** Every pair's summary as it changes, with the hosts (for their names); returns the unsubscribe function. */
  watchPairs(fn: (pair: PairInfo, hosts: readonly HostInfo[]) => void): () => void;
  /** Stops the simulated pairs, flushes history and closes the files; resolves when everything is on disk. */
  close(): Promise<void>;
}

export interface ServiceSettings {
  /** app.getPath('userData'). */
  readonly dataDir: string;
  /** Start protecting the demo pair straight away (`--no-demo` turns it off). */
  readonly demo: boolean;
  /** The app's version (package.json's, put into the bundle by build.ts). */
  readonly version: string;
  /** Faults inside the service that no caller is waiting for. */
  readonly onError: (err: unknown, where: string) => void;
  /** What the admin must know about how the app runs (its sandbox off, say); app.info reports them. */
  readonly warnings?: readonly string[];
}

/** Opens the service's files under `dataDir` and starts it. */
export async function startConsoleService(settings: ServiceSettings): Promise<RunningService> {
  const service = new ConsoleService({
    dataDir: settings.dataDir,
    autoStartDemo: settings.demo,
    version: settings.version,
    onError: settings.onError,
  });
  try {
    await service.start();
  } catch (err) {
    await service.close().catch(() => undefined);
    throw err;
  }
  return {
    handlers: consoleHandlers(service, { transport: 'electron', warnings: settings.warnings ?? [] }),
    watchPairs: (fn) => service.onPair((pair) => fn(pair, service.hosts())),
    close: () => service.close(),
  };
}
