// npm run build:electron: bundles the main process and the preload with esbuild.
//
//   out/electron/main.cjs     Node (Electron's), CommonJS; electron and native modules stay outside the bundle
//   out/electron/preload.cjs  one self-contained CommonJS file: a sandboxed preload can require nothing but
//                             'electron' and a few built-ins, so everything else is inlined, and the build fails if
//                             anything besides 'electron' is left to require()
//   out/electron/icon.png     the window icon (Linux, Windows)

import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, type Metafile, type Plugin, build } from 'esbuild';

const ROOT = path.join(import.meta.dirname, '..');

/** Required at run time from node_modules: Electron itself, and modules with native parts esbuild cannot inline. */
export const MAIN_EXTERNALS = ['electron', 'better-sqlite3', 'ssh2', 'cpu-features', 'bufferutil', 'utf-8-validate'];

export interface BuildResult {
  readonly main: string;
  readonly preload: string;
}

export interface BuildElectronOptions {
  readonly root?: string;
  readonly outDir?: string;
  /** Build the preload only. */
  readonly only?: 'preload';
  /** For tests: esbuild plugins for the main bundle (to put stand-ins for Electron and the service). */
  readonly mainPlugins?: Plugin[];
}

export async function buildElectron(options: BuildElectronOptions = {}): Promise<BuildResult> {
  const root = options.root ?? ROOT;
  const outDir = options.outDir ?? path.join(root, 'out', 'electron');
  const version = (JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  await mkdir(outDir, { recursive: true });

  const common: BuildOptions = {
    bundle: true,
    format: 'cjs',
    sourcemap: 'linked',
    logLevel: 'silent',
    metafile: true,
    legalComments: 'none',
    absWorkingDir: root,
  };
  const main = path.join(outDir, 'main.cjs');
  const preload = path.join(outDir, 'preload.cjs');

  const preloadBuild = await build({
    ...common,
    entryPoints: [path.join(root, 'electron', 'preload.ts')],
    outfile: preload,
    platform: 'browser',
    target: 'chrome130',
    external: ['electron'],
    // zod brings every locale along (its namespace export cannot be shaken); minified it parses in a few ms.
    minify: true,
  });
  if (preloadBuild.metafile === undefined) throw new Error('esbuild returned no metafile');
  checkPreloadImports(preloadBuild.metafile, preload, root);
  if (options.only === 'preload') return { main, preload };

  await build({
    ...common,
    entryPoints: [path.join(root, 'electron', 'main.ts')],
    outfile: main,
    platform: 'node',
    target: 'node22',
    external: MAIN_EXTERNALS,
    plugins: options.mainPlugins ?? [],
    // The bundle is CommonJS: where the ESM sources say import.meta.dirname or import.meta.url, it has the same
    // facts about main.cjs.
    inject: [path.join(root, 'electron', 'cjs-shims.ts')],
    define: {
      'import.meta.dirname': '__dirname',
      'import.meta.url': 'importMetaUrl',
      COLO_CONSOLE_VERSION: JSON.stringify(version),
    },
  });
  const icon = path.join(root, 'assets', 'icon.png');
  await copyFile(icon, path.join(outDir, 'icon.png')).catch(() => undefined);
  return { main, preload };
}

/** Every import the preload bundle leaves to run time; anything but 'electron' would fail inside the sandbox. */
export function externalImports(metafile: Metafile, outfile: string, root: string): string[] {
  const key = path.relative(root, outfile).split(path.sep).join('/');
  const output = metafile.outputs[key];
  if (output === undefined) throw new Error(`esbuild reported no output ${key}`);
  return output.imports.filter((i) => i.external).map((i) => i.path);
}

function checkPreloadImports(metafile: Metafile, outfile: string, root: string): void {
  const stray = externalImports(metafile, outfile, root).filter((p) => p !== 'electron');
  if (stray.length > 0) throw new Error(`the preload would require ${stray.join(', ')} at run time, which a sandboxed preload cannot`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  buildElectron().then(
    (result) => console.log(`built ${path.relative(ROOT, result.main)} and ${path.relative(ROOT, result.preload)}`),
    (err: unknown) => {
      const errors = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
      const first = errors?.[0];
      const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
      console.error(`build:electron: ${first ? first.text + where : err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
