// Browser mode: the renderer's files and the RPC WebSocket from one loopback origin, so one CSP covers both and
// the token cookie set by the page also authorises the socket. Every request, page or upgrade, passes the same
// guard (http-guard.ts) before anything else looks at it; failures get a bare status and no detail.

import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { realpath } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { createToken, hostAllowed, originAllowed, tokenCookie, validTokenSource } from './http-guard.js';
import type { RpcChannel } from './protocol.js';
import { resolveStaticFile, sendFile } from './static-files.js';
import { DEFAULT_MAX_BUFFERED_BYTES, wsChannel } from './ws-channel.js';

export const LOOPBACK = '127.0.0.1';
export const WS_PATH = '/rpc';
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

export interface BrowserServerOptions {
  /** The built renderer. */
  staticDir: string;
  /** Called once per authorised WebSocket; typically `(ch) => serve(contract, handlers, ch)`. */
  onChannel: (channel: RpcChannel) => void;
  /** Only '127.0.0.1' is accepted: anything else would expose the console to the network. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Larger client messages close the connection (1009). */
  maxMessageBytes?: number;
  /** Unsent bytes per socket above which event batches are held back. */
  maxBufferedBytes?: number;
  maxConnections?: number;
  /** Faults that have no client to tell: socket errors, a throwing onChannel. */
  onError?: (err: unknown) => void;
}

export interface BrowserServer {
  /** The page URL, token included: what to open in a browser. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  503: 'Service Unavailable',
};

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const host = options.host ?? LOOPBACK;
  if (host !== LOOPBACK) throw new Error(`browser mode listens on ${LOOPBACK} only`);
  const wantedPort = options.port ?? 0;
  if (!Number.isInteger(wantedPort) || wantedPort < 0 || wantedPort > 65535) throw new RangeError('port must be 0..65535');
  const root = await realpath(options.staticDir);
  const token = createToken();
  const maxConnections = options.maxConnections ?? 32;
  const maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const report = (err: unknown): void => {
    try {
      options.onError?.(err);
    } catch {
      // Logging must not be what brings the server down.
    }
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES });
  const server = createServer();
  let port = 0;

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handlePage(req, res).catch((err: unknown) => {
      report(err);
      if (!res.headersSent) reply(res, 404);
      else res.destroy();
    });
  });

  async function handlePage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    setSecurityHeaders(res);
    if (!hostAllowed(req, port)) return reply(res, 403);
    const url = parseUrl(req);
    const source = url === null ? null : validTokenSource(req, url, port, token);
    if (source === null) return reply(res, 401);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405);
    const found = await resolveStaticFile(root, rawPath(req));
    if (found === null) return reply(res, 404);
    if (source === 'query') res.setHeader('Set-Cookie', tokenCookie(port, token));
    await sendFile(res, found.file, found.size, req.method === 'HEAD');
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', report);
    if (!hostAllowed(req, port)) return refuse(socket, 403);
    const url = parseUrl(req);
    if (url === null || validTokenSource(req, url, port, token) === null) return refuse(socket, 401);
    if (!originAllowed(req, port)) return refuse(socket, 403);
    if (url.pathname !== WS_PATH) return refuse(socket, 404);
    if (wss.clients.size >= maxConnections) return refuse(socket, 503);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      // Without a listener, an oversize frame's error event would be thrown and take the process with it.
      ws.on('error', report);
      try {
        options.onChannel(wsChannel(ws, maxBufferedBytes));
      } catch (err) {
        report(err);
        ws.close(1011);
      }
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(wantedPort, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', report);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  port = address.port;

  return {
    url: `http://${LOOPBACK}:${port}/?token=${token}`,
    port,
    token,
    close: () => closeAll(server, wss),
  };
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  // The first page URL carries the token; keep it out of any Referer.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function reply(res: ServerResponse, status: number): void {
  const body = STATUS_TEXT[status] ?? 'Error';
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function refuse(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** For the query only; the path is taken raw (rawPath) so URL normalisation cannot hide a '..' from the checks. */
function parseUrl(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return null;
  }
}

function rawPath(req: IncomingMessage): string {
  const target = req.url ?? '/';
  const end = target.search(/[?#]/);
  return end < 0 ? target : target.slice(0, end);
}

async function closeAll(server: Server, wss: WebSocketServer): Promise<void> {
  for (const ws of wss.clients) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
