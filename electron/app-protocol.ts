// What the app:// scheme answers. The renderer build is served from one directory; the path is mapped onto it by
// core/api's static-file resolver (one decoded segment at a time, symlinks resolved and re-checked), so this
// module only adds what is specific to the scheme: the exact origin, the methods, the SPA fallback, the headers.

import path from 'node:path';
import { contentTypeFor, resolveStaticFile } from '../core/api/static-files.js';
import { APP_HOST, APP_SCHEME, CONTENT_SECURITY_POLICY } from './constants.js';

export interface AppResponse {
  readonly status: 200 | 400 | 404 | 405;
  readonly headers: Readonly<Record<string, string>>;
  /** The file to send with a 200; absent otherwise. */
  readonly file?: string;
  /** True for HEAD: headers only. */
  readonly headOnly?: boolean;
}

/** Sent with every answer, errors included, so no response of ours is ever without the policy. */
export const BASE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
});

/**
 * Maps one request of the app scheme onto a file under `root` (which must already be a real path). A path with no
 * file extension that names no file gets index.html, so a reload on a client-side route still finds the app.
 */
export async function resolveAppRequest(root: string, method: string, rawUrl: string): Promise<AppResponse> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return answer(400);
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || url.username !== '' || url.password !== '') return answer(400);
  if (method !== 'GET' && method !== 'HEAD') return { ...answer(405), headers: { ...BASE_HEADERS, Allow: 'GET, HEAD' } };
  const headOnly = method === 'HEAD';

  const pathname = url.pathname === '' ? '/' : url.pathname;
  let found = await resolveStaticFile(root, pathname);
  if (found === null && isClientRoute(pathname)) found = await resolveStaticFile(root, '/index.html');
  if (found === null) return answer(404);
  return {
    status: 200,
    headers: { ...BASE_HEADERS, 'Content-Type': contentTypeFor(found.file), 'Content-Length': String(found.size) },
    file: found.file,
    headOnly,
  };
}

function answer(status: 400 | 404 | 405): AppResponse {
  return { status, headers: { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } };
}

/** '/pairs/vm-1' is a route; '/assets/app.js' and '/favicon.ico' are files that must exist. */
function isClientRoute(pathname: string): boolean {
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  return last !== '' && path.extname(last) === '' && !last.startsWith('.');
}
