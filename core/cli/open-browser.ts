// Opens a URL in the user's browser, if the platform has a way to. The URL goes to the opener as one argument of
// an argv array, never through a shell.

import { spawn } from 'node:child_process';

const OPENERS: Partial<Record<NodeJS.Platform, [string, string[]]>> = {
  darwin: ['open', []],
  win32: ['rundll32', ['url.dll,FileProtocolHandler']],
  linux: ['xdg-open', []],
  freebsd: ['xdg-open', []],
};

/** Resolves true if an opener started; false (never throws) if there is none. */
export function openBrowser(url: string): Promise<boolean> {
  const opener = OPENERS[process.platform];
  if (!opener) return Promise.resolve(false);
  return new Promise((resolve) => {
    const child = spawn(opener[0], [...opener[1], url], { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}
