// Where the console keeps its registry, settings, history and audit log when run from the command line: the same
// per-user directory Electron's app.getPath('userData') gives the desktop app, so both modes share one state.

import { homedir } from 'node:os';
import path from 'node:path';

export const APP_DIR_NAME = 'colo-console';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(homedir(), 'AppData', 'Roaming'), APP_DIR_NAME);
  if (platform === 'darwin') return path.join(homedir(), 'Library', 'Application Support', APP_DIR_NAME);
  const config = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(homedir(), '.config');
  return path.join(config, APP_DIR_NAME);
}
