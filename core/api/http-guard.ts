// Who may talk to the browser-mode server. Anything on this machine can reach 127.0.0.1, including web pages open
// in the user's browser, so a request needs all of: the per-launch token (in the query once, then a cookie), a Host
// header naming us by loopback address (a page on a rebound DNS name sends its own name), and for WebSockets, which
// browsers let any page open cross-origin, an Origin that is our own.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Hashing first makes the comparison constant-time even when the lengths differ. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Cookies are not port-scoped, so two consoles on one machine would overwrite each other's under a fixed name. */
export function cookieName(port: number): string {
  return `colo-console-token-${port}`;
}

export function tokenCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}

export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host?.toLowerCase();
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Same origin means the scheme and host:port the page was loaded from, which the Host header already pinned. */
export function originAllowed(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin?.toLowerCase();
  return hostAllowed(req, port) && origin === `http://${req.headers.host?.toLowerCase()}`;
}

export type TokenSource = 'query' | 'cookie';

/** Where a valid token came from, or null. The query wins so a fresh link works even over a stale cookie. */
export function validTokenSource(req: IncomingMessage, url: URL, port: number, token: string): TokenSource | null {
  const fromQuery = url.searchParams.get('token');
  if (fromQuery !== null && tokensEqual(fromQuery, token)) return 'query';
  const fromCookie = readCookie(req.headers.cookie, cookieName(port));
  if (fromCookie !== undefined && tokensEqual(fromCookie, token)) return 'cookie';
  return null;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
