// The desktop app under Playwright's _electron, where its binary exists. The binary is found the way `npm start`
// finds it (electron/launch.ts), by looking at files: requiring the electron package throws without it.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { type ElectronApplication, _electron } from '@playwright/test';
import { type ElectronBinary, findElectronBinary, locateElectronPackage } from '../../electron/launch.js';
import { RENDERER_INDEX, ROOT } from '../../core/cli/serve-process.js';

export const ELECTRON_MAIN = path.join(ROOT, 'out', 'electron', 'main.cjs');

let cached: ElectronBinary | undefined;

export function electronBinary(): ElectronBinary {
  cached ??= findElectronBinary(locateElectronPackage(ROOT));
  return cached;
}

/** Why the desktop app cannot be launched although its binary exists (not built), or null. */
export function electronNotBuilt(): string | null {
  if (!existsSync(ELECTRON_MAIN)) return `${ELECTRON_MAIN} is missing: run 'npm run build:electron'`;
  if (!existsSync(RENDERER_INDEX)) return `${RENDERER_INDEX} is missing: run 'npx vite build --config renderer/vite.config.mjs'`;
  return null;
}

export async function launchElectron(executable: string, dataDir: string): Promise<ElectronApplication> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  delete env.ELECTRON_RUN_AS_NODE;
  env.COLO_CONSOLE_DATA_DIR = dataDir;
  // Playwright adds --no-sandbox itself when running as root; the GPU is of no use headless.
  return _electron.launch({ executablePath: executable, args: ['--disable-gpu', ELECTRON_MAIN], cwd: ROOT, env, timeout: 60_000 });
}
