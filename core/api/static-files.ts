// Serving the built renderer. A request path is mapped onto the directory one decoded segment at a time, and any
// segment that could step outside it ('..', '.', a hidden name, an embedded slash or backslash, NUL) refuses the
// whole request, before the file system is touched. Symlinks are resolved and checked again, so a link inside the
// directory cannot lead out of it either.

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The file a request path names inside `root` (which must already be a real path), or null. A path ending in '/'
 * names that directory's index.html; a directory without the slash is not served, so there is no listing.
 */
export async function resolveStaticFile(root: string, rawPath: string): Promise<{ file: string; size: number } | null> {
  if (!rawPath.startsWith('/')) return null;
  const segments = rawPath.slice(1).split('/');
  const last = segments.length - 1;
  const parts: string[] = [];
  for (const [i, raw] of segments.entries()) {
    if (raw === '' && i === last) {
      parts.push('index.html');
      break;
    }
    const part = decodeSegment(raw);
    if (part === null) return null;
    parts.push(part);
  }
  const candidate = path.join(root, ...parts);
  if (!inside(root, candidate)) return null;
  try {
    const real = await realpath(candidate);
    if (!inside(root, real)) return null;
    const info = await stat(real);
    return info.isFile() ? { file: real, size: info.size } : null;
  } catch {
    return null;
  }
}

export async function sendFile(res: ServerResponse, file: string, size: number, headOnly: boolean): Promise<void> {
  res.setHeader('Content-Type', contentTypeFor(file));
  res.setHeader('Content-Length', size);
  res.writeHead(200);
  if (headOnly) {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(file), res);
  } catch {
    // Headers are gone already; cutting the response short is the only honest signal left.
    res.destroy();
  }
}

function decodeSegment(raw: string): string | null {
  let part: string;
  try {
    part = decodeURIComponent(raw);
  } catch {
    return null;
  }
  if (part === '' || part.startsWith('.')) return null;
  if (/[/\\\0:]/.test(part)) return null;
  return part;
}

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
