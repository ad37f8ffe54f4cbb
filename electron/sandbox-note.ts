// What the app says when Chromium's sandbox is off. Chromium will not start as root with its sandbox on, so the
// launcher passes --no-sandbox when run as root (launch.ts), and that switch turns the OS sandbox off for every
// process of the app, the window's renderer included: `sandbox: true` in webPreferences then still keeps Node.js
// and Electron's APIs out of the page, but no longer confines the process itself. A flaw in Chromium would run as
// root. The admin is told so on the terminal (the launcher), in the log (the main process) and on screen (app.info's
// warnings, shown as a notice). Plain TypeScript: the launcher, the main process and their tests all import it.

export const NO_SANDBOX_SWITCH = '--no-sandbox';

/** The launcher's line when it adds --no-sandbox. */
export const ROOT_LAUNCH_NOTE =
  'Running as root: starting Electron with --no-sandbox (Chromium will not start as root otherwise). ' +
  "Chromium's sandbox is then off for every process of the app, the window included; run the console as an " +
  'ordinary user to keep it.';

/** The main process's warning, for the log and for the screen; null while the sandbox is on. */
export function sandboxWarning(argv: readonly string[], isRoot: boolean): string | null {
  if (!argv.includes(NO_SANDBOX_SWITCH)) return null;
  const why = isRoot ? 'The console is running as root, so it was started with --no-sandbox' : 'The console was started with --no-sandbox';
  return (
    `${why}: Chromium's sandbox is off for every process of this app, this window included. The page is still ` +
    'kept away from Node.js and the system (context isolation, no Node integration, a strict content policy), ' +
    'but a flaw in Chromium would no longer be contained' +
    (isRoot ? ' and would run as root. Run the console as an ordinary user instead.' : '. Start it without --no-sandbox.')
  );
}
