// Builds the xl emulator into one ES module (esbuild) and a `#!/bin/sh` wrapper named `xl` that execs node on it,
// so each xl call costs one node start and no TypeScript compile.

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { shellQuote } from '../ssh/shell-quote.js';

export interface XlBundle {
  /** The bundled program. */
  script: string;
  /** Directory holding the `xl` wrapper (and nothing else of the lab's). */
  binDir: string;
  /** The wrapper itself. */
  xl: string;
}

export async function bundleXl(outDir: string): Promise<XlBundle> {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'xl', 'main.ts');
  const binDir = path.join(outDir, 'bin');
  mkdirSync(binDir, { recursive: true });
  const script = path.join(outDir, 'xl.mjs');
  await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: script, logLevel: 'error' });
  const xl = path.join(binDir, 'xl');
  writeFileSync(xl, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(script)} "$@"\n`);
  chmodSync(xl, 0o755);
  return { script, binDir, xl };
}
