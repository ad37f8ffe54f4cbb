// How the browser page presents browser mode's per-launch token: as a WebSocket subprotocol, next to the one the
// server answers with. Not a cookie (cookies are not scoped by port, so a browser sends them to every server on
// 127.0.0.1) and not the query string (which ends up in logs). Pure, so both ends import it.

/** The subprotocol the server selects; the page must offer it. */
export const WS_PROTOCOL = 'colo-console';
/** The token rides in a second offered subprotocol; base64url is made of characters a subprotocol may hold. */
export const TOKEN_PROTOCOL_PREFIX = 'colo-token.';
/** Where the page URL carries the token: http://127.0.0.1:PORT/#token=… (a fragment never leaves the browser). */
export const TOKEN_FRAGMENT_KEY = 'token';

export function tokenProtocols(token: string): string[] {
  return [WS_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`];
}

/** The token offered in a Sec-WebSocket-Protocol header, or null. */
export function tokenFromProtocols(header: string | undefined): string | null {
  if (header === undefined) return null;
  for (const part of header.split(',')) {
    const p = part.trim();
    if (p.startsWith(TOKEN_PROTOCOL_PREFIX)) return p.slice(TOKEN_PROTOCOL_PREFIX.length);
  }
  return null;
}

/** The page URL for a server on `origin` (http://127.0.0.1:PORT). */
export function pageUrl(origin: string, token: string): string {
  return `${origin}/#${TOKEN_FRAGMENT_KEY}=${token}`;
}

/** The token in a location.hash ('#token=…'), or null when there is none. */
export function tokenFromFragment(hash: string): string | null {
  const m = new RegExp(`^#${TOKEN_FRAGMENT_KEY}=([A-Za-z0-9_-]+)$`).exec(hash);
  return m === null ? null : m[1]!;
}
