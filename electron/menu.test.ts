import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MenuItemConstructorOptions } from 'electron';
import { buildMenuTemplate } from './menu.js';

function flatten(items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return items.flatMap((item) => [item, ...(Array.isArray(item.submenu) ? flatten(item.submenu) : [])]);
}

function submenu(items: MenuItemConstructorOptions[], label: string): MenuItemConstructorOptions[] {
  const top = items.find((i) => i.label === label || i.role === label);
  assert.ok(top, `no ${label} menu`);
  assert.ok(Array.isArray(top.submenu));
  return top.submenu;
}

describe('application menu', () => {
  const build = (platform: NodeJS.Platform, isPackaged: boolean, showAbout: () => void = () => undefined) =>
    buildMenuTemplate({ platform, isPackaged, showAbout });

  test('File ▸ Quit, View with reload and zoom, Help ▸ About on Linux and Windows', () => {
    for (const platform of ['linux', 'win32'] as const) {
      const menu = build(platform, true);
      assert.deepEqual(submenu(menu, 'File').map((i) => i.role), ['quit']);
      const view = submenu(menu, 'View').map((i) => i.role).filter(Boolean);
      assert.deepEqual(view, ['reload', 'resetZoom', 'zoomIn', 'zoomOut', 'togglefullscreen']);
      assert.deepEqual(submenu(menu, 'help').map((i) => i.label), ['About COLO Console']);
    }
  });

  test('developer tools only when not packaged', () => {
    const roles = (isPackaged: boolean) => flatten(build('linux', isPackaged)).map((i) => i.role);
    assert.equal(roles(true).includes('toggleDevTools'), false);
    assert.equal(roles(false).includes('toggleDevTools'), true);
    assert.equal(flatten(build('darwin', true)).some((i) => i.role === 'toggleDevTools'), false);
  });

  test('an Edit menu, so copy and paste work in the confirmation fields on macOS', () => {
    assert.deepEqual(submenu(build('darwin', true), 'Edit').map((i) => i.role).filter(Boolean), ['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll']);
  });

  test('macOS gets the application menu with About and Quit first', () => {
    const menu = build('darwin', true);
    assert.equal(menu[0]?.label, 'COLO Console');
    const app = submenu(menu, 'COLO Console');
    assert.equal(app[0]?.label, 'About COLO Console');
    assert.equal(app.at(-1)?.role, 'quit');
  });

  test('About calls back', () => {
    let shown = 0;
    const about = submenu(build('linux', true, () => shown++), 'help')[0];
    assert.equal(typeof about?.click, 'function');
    (about?.click as () => void)();
    assert.equal(shown, 1);
  });
});
