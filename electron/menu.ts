// The application menu, as a template built from plain facts so it can be checked without Electron.

import type { MenuItemConstructorOptions } from 'electron';
import { PRODUCT_NAME } from './constants.js';

export interface MenuFacts {
  readonly platform: NodeJS.Platform;
  /** Packaged builds get no developer tools. */
  readonly isPackaged: boolean;
  readonly showAbout: () => void;
}

export function buildMenuTemplate(facts: MenuFacts): MenuItemConstructorOptions[] {
  const mac = facts.platform === 'darwin';
  const about: MenuItemConstructorOptions = { label: `About ${PRODUCT_NAME}`, click: () => facts.showAbout() };
  const view: MenuItemConstructorOptions[] = [
    { role: 'reload' },
    ...(facts.isPackaged ? [] : [{ role: 'toggleDevTools' } as const]),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  return [
    // macOS puts About and Quit under the application's own menu.
    ...(mac ? [{ label: PRODUCT_NAME, submenu: [about, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' }] } satisfies MenuItemConstructorOptions] : []),
    { label: 'File', submenu: [mac ? { role: 'close' } : { role: 'quit' }] },
    // Without an Edit menu, copy and paste shortcuts do nothing on macOS; the confirmation fields need paste.
    { label: 'Edit', submenu: [{ role: 'undo' }, { role: 'redo' }, { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    { label: 'View', submenu: view },
    { role: 'help', submenu: [about] },
  ];
}
