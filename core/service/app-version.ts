// The console's version for app.info: read from the package.json above this module, found by walking up, so it
// works from core/ under tsx and from dist/core/ alike without a build step stamping it in.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function appVersion(): string {
  if (cached !== undefined) return cached;
  cached = 'unknown';
  let dir: string;
  try {
    dir = path.dirname(fileURLToPath(import.meta.url));
  } catch {
    // Bundled as CommonJS (import.meta empty): the caller should pass ConsoleServiceOptions.version.
    return cached;
  }
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'colo-console' && typeof pkg.version === 'string') {
        cached = pkg.version.slice(0, 64);
        break;
      }
    } catch {
      // No package.json here (or not ours): keep walking up.
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return cached;
}
