// Who may talk to the browser-mode server. Anything on this machine can reach 127.0.0.1, including web pages open
// in the user's browser. Every request needs a Host header naming us by loopback address (a page on a rebound DNS
// name sends its own name). The pages and scripts hold no secrets and are served on that alone; the WebSocket, where
// the data and the actions are, also needs the per-launch token (offered as a subprotocol, ws-token.ts) and, since
// browsers let any page open a WebSocket cross-origin, an Origin that is our own. No cookie: cookies are not scoped
// by port, so the browser would send one to every other server on 127.0.0.1.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { tokenFromProtocols } from './ws-token.js';

export function createToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Hashing first makes the comparison constant-time even when the lengths differ. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
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

/** The WebSocket upgrade offers the token as a subprotocol (ws-token.ts); nothing else is accepted. */
export function upgradeTokenValid(req: IncomingMessage, token: string): boolean {
  const given = tokenFromProtocols(req.headers['sec-websocket-protocol']);
  return given !== null && tokensEqual(given, token);
}
