// Light and dark themes: the setting (system, light, dark) is resolved here to one palette, set as data-theme on
// <html>, so the stylesheet defines each palette once; 'system' follows prefers-color-scheme as it changes. Canvas and SVG charts cannot use var() in attributes, so they read the
// resolved palette from here and repaint when it changes.

import { useSyncExternalStore } from 'react';
import type { Settings } from '../../core/api/console-contract.js';

export type ThemeSetting = Settings['theme'];

const STORAGE_KEY = 'colo-console.theme';
const listeners = new Set<() => void>();
let palette: Palette | null = null;

export interface Palette {
  fg: string;
  muted: string;
  grid: string;
  bg: string;
  surface: string;
  phase: Record<'wait' | 'suspend' | 'transfer' | 'device' | 'svm-load' | 'resume', string>;
  trigger: Record<'initial' | 'miscompare' | 'timer' | 'timeout' | 'manual', string>;
  series: { primary: string; secondary: string; interval: string; p50: string; p99: string; pages: string; bytes: string; colo: string; remus: string };
  bad: string;
  warn: string;
}

function notify(): void {
  palette = null;
  for (const cb of listeners) cb();
}

const DARK_QUERY = '(prefers-color-scheme: dark)';

/** Sets the palette the setting resolves to now, and remembers the setting itself. */
function resolve(setting: ThemeSetting): void {
  const root = document.documentElement;
  root.dataset.themeSetting = setting;
  root.dataset.theme = setting === 'system' ? (window.matchMedia(DARK_QUERY).matches ? 'dark' : 'light') : setting;
  notify();
}

export function applyTheme(theme: ThemeSetting): void {
  resolve(theme);
  try {
    localStorage.setItem(STORAGE_KEY, theme);
  } catch {
    // Storage may be unavailable (Electron with a locked profile); the setting still comes from the service.
  }
}

/** Before the first paint: the last theme used, so a dark-theme user is not flashed with light. */
export function initTheme(): void {
  let saved: string | null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    saved = null;
  }
  resolve(saved === 'light' || saved === 'dark' ? saved : 'system');
  window.matchMedia(DARK_QUERY).addEventListener('change', () => resolve(currentTheme()));
}

export function currentTheme(): ThemeSetting {
  const t = document.documentElement.dataset.themeSetting;
  return t === 'light' || t === 'dark' ? t : 'system';
}

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

export function getPalette(): Palette {
  if (palette !== null) return palette;
  const s = getComputedStyle(document.documentElement);
  const v = (name: string, fallback = '#888'): string => cssVar(s, name, fallback);
  palette = {
    fg: v('--fg'),
    muted: v('--muted'),
    grid: v('--grid'),
    bg: v('--bg'),
    surface: v('--surface'),
    phase: {
      wait: v('--phase-wait'),
      suspend: v('--phase-suspend'),
      transfer: v('--phase-transfer'),
      device: v('--phase-device'),
      'svm-load': v('--phase-svm-load'),
      resume: v('--phase-resume'),
    },
    trigger: {
      initial: v('--trigger-initial'),
      miscompare: v('--trigger-miscompare'),
      timer: v('--trigger-timer'),
      timeout: v('--trigger-timeout'),
      manual: v('--trigger-manual'),
    },
    series: {
      primary: v('--series-primary'),
      secondary: v('--series-secondary'),
      interval: v('--series-interval'),
      p50: v('--series-p50'),
      p99: v('--series-p99'),
      pages: v('--series-pages'),
      bytes: v('--series-bytes'),
      colo: v('--series-colo'),
      remus: v('--series-remus'),
    },
    bad: v('--bad'),
    warn: v('--warn'),
  };
  return palette;
}

function subscribe(cb: () => void): () => void {
  listeners.add(cb);
  return () => listeners.delete(cb);
}

/** The resolved palette; components re-render when the theme changes. */
export function usePalette(): Palette {
  return useSyncExternalStore(subscribe, getPalette);
}

export function onPaletteChange(cb: () => void): () => void {
  return subscribe(cb);
}
