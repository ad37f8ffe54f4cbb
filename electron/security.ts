// The decisions behind the main process's security handlers, as plain functions of plain data so they can be
// tested without Electron. main.ts only gathers the facts (which webContents, which frame, which URL) and obeys.

import { APP_HOST, APP_SCHEME } from './constants.js';

/**
 * True for a URL of our own origin (app://colo-console/…), decided with the URL parser, never by prefix:
 * 'app://colo-console.evil/', 'app://user@colo-console/' and 'app://colo-console:1/' are all someone else.
 */
export function isAppUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST && url.username === '' && url.password === '';
}

/** What main.ts knows about the sender of one IPC message. */
export interface SenderFacts {
  /** event.sender.id */
  readonly webContentsId: number;
  /** event.senderFrame; null once that frame has navigated away or gone. */
  readonly frame: {
    readonly url: string;
    /** The top frame of its webContents (no parent, and the webContents' own main frame). */
    readonly isMainFrame: boolean;
  } | null;
}

export type SenderVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Electron security checklist item 17: a message is acted on only if it comes from the main frame of our own
 * window, showing a page of our own origin. `expectedWebContentsId` is null while there is no window.
 */
export function checkSender(sender: SenderFacts, expectedWebContentsId: number | null): SenderVerdict {
  if (expectedWebContentsId === null || sender.webContentsId !== expectedWebContentsId) {
    return { ok: false, reason: 'message from a webContents that is not the console window' };
  }
  if (sender.frame === null) return { ok: false, reason: 'message from a frame that has since gone' };
  if (!sender.frame.isMainFrame) return { ok: false, reason: 'message from a subframe' };
  if (!isAppUrl(sender.frame.url)) return { ok: false, reason: 'message from a page that is not the console' };
  return { ok: true };
}

/** `will-navigate` and `will-frame-navigate`: only to our own pages (a reload of the app, say); nothing else. */
export function navigationAllowed(url: string): boolean {
  return isAppUrl(url);
}

/**
 * Permission requests and checks. Everything is refused except writing to the clipboard from our own page
 * (a "copy" button for a command or a hash); the renderer needs no camera, location, notifications or the like.
 */
export function permissionAllowed(permission: string, requestingUrl: string): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl);
}
