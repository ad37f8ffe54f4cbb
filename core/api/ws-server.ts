// Browser mode: the renderer's files and the RPC WebSocket from one loopback origin, so one CSP covers both. The
// page URL carries the per-launch token in its fragment, which browsers never send; the page keeps it in
// sessionStorage and offers it when it opens the WebSocket (ws-token.ts). Every request, page or upgrade, passes the
// guard (http-guard.ts) before anything else looks at it; failures get a bare status and no detail.

import { CONTENT_SECURITY_POLICY } from './content-policy.js';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { realpath } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { createToken, hostAllowed, originAllowed, upgradeTokenValid } from './http-guard.js';
import type { RpcChannel } from './protocol.js';
import { resolveStaticFile, sendFile } from './static-files.js';
import { DEFAULT_HARD_LIMIT_BYTES, DEFAULT_HARD_LIMIT_GRACE_MS, DEFAULT_MAX_BUFFERED_BYTES, wsChannel } from './ws-channel.js';
import { WS_PROTOCOL, pageUrl } from './ws-token.js';

export const LOOPBACK = '127.0.0.1';
export const WS_PATH = '/rpc';
/** The same policy as the desktop app's (core/api/content-policy.ts). */
export const CSP = CONTENT_SECURITY_POLICY;
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
  /** Unsent bytes per socket above which event batches are held back and the socket is not read (ws-channel.ts). */
  maxBufferedBytes?: number;
  /** Unsent bytes per socket which, held longer than `hardLimitGraceMs`, close the connection (1008). */
  hardLimitBytes?: number;
  hardLimitGraceMs?: number;
  maxConnections?: number;
  /** Faults that have no client to tell: socket errors, a throwing onChannel. */
  onError?: (err: unknown) => void;
}

export interface BrowserServer {
  /** The page URL, token in the fragment: what to open in a browser. */
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
  const limits = {
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    hardLimitBytes: options.hardLimitBytes ?? DEFAULT_HARD_LIMIT_BYTES,
    hardLimitGraceMs: options.hardLimitGraceMs ?? DEFAULT_HARD_LIMIT_GRACE_MS,
  };
  const report = (err: unknown): void => {
    try {
      options.onError?.(err);
    } catch {
      // Logging must not be what brings the server down.
    }
  };

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    // Answer with our protocol name, never by echoing the token the client offered beside it.
    handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
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
    // No token here: the files hold no secrets, and a page opened without one must be able to say where to find it.
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405);
    const found = await resolveStaticFile(root, rawPath(req));
    if (found === null) return reply(res, 404);
    await sendFile(res, found.file, found.size, req.method === 'HEAD');
  }

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', report);
    if (!hostAllowed(req, port)) return refuse(socket, 403);
    if (!upgradeTokenValid(req, token)) return refuse(socket, 401);
    if (!originAllowed(req, port)) return refuse(socket, 403);
    if (rawPath(req) !== WS_PATH) return refuse(socket, 404);
    if (wss.clients.size >= maxConnections) return refuse(socket, 503);
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      // Without a listener, an oversize frame's error event would be thrown and take the process with it.
      ws.on('error', report);
      try {
        options.onChannel(wsChannel(ws, { ...limits, onOverflow: (reason) => report(new Error(`closed a WebSocket: ${reason}`)) }));
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
    url: pageUrl(`http://${LOOPBACK}:${port}`, token),
    port,
    token,
    close: () => closeAll(server, wss),
  };
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  // Browsers strip the fragment (where the token is) from a Referer anyway; send no Referer at all.
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
