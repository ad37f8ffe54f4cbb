// Draws the app icon — two overlapping rounded squares, the primary and its secondary — into assets/icon.png
// (512×512, what electron-builder turns into each platform's format) and assets/icon.svg. Run it after changing
// the drawing: `tsx electron/make-icon.ts`. No image library: a PNG is a few zlib-compressed rows and three CRCs.

import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateSync } from 'node:zlib';

interface Square {
  readonly x: number;
  readonly y: number;
  readonly size: number;
  readonly radius: number;
}

type Rgb = readonly [number, number, number];

/** In a 512-unit box: the primary (blue), its secondary (teal), and where the two copies overlap (a blend). */
export const PRIMARY: Square = { x: 40, y: 40, size: 300, radius: 56 };
export const SECONDARY: Square = { x: 172, y: 172, size: 300, radius: 56 };
const PRIMARY_RGB: Rgb = [37, 99, 235];
const SECONDARY_RGB: Rgb = [20, 184, 166];
const OVERLAP_RGB: Rgb = [21, 128, 190];

const hex = (c: Rgb): string => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');
const rect = (s: Square, fill: string, extra = ''): string =>
  `<rect x="${s.x}" y="${s.y}" width="${s.size}" height="${s.size}" rx="${s.radius}" fill="${fill}"${extra}/>`;

export function iconSvg(): string {
  return [
    '<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">',
    `  <clipPath id="primary">${rect(PRIMARY, '#000')}</clipPath>`,
    `  ${rect(PRIMARY, hex(PRIMARY_RGB))}`,
    `  ${rect(SECONDARY, hex(SECONDARY_RGB))}`,
    `  ${rect(SECONDARY, hex(OVERLAP_RGB), ' clip-path="url(#primary)"')}`,
    '</svg>',
    '',
  ].join('\n');
}

/** RGBA pixels, 4×4 supersampled so the rounded corners are smooth. */
export function iconPixels(size: number): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const scale = 512 / size;
  const samples = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const sum = [0, 0, 0];
      let covered = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = (px + (sx + 0.5) / samples) * scale;
          const y = (py + (sy + 0.5) / samples) * scale;
          const inPrimary = inside(PRIMARY, x, y);
          const inSecondary = inside(SECONDARY, x, y);
          const color = inPrimary && inSecondary ? OVERLAP_RGB : inSecondary ? SECONDARY_RGB : inPrimary ? PRIMARY_RGB : null;
          if (color === null) continue;
          covered++;
          for (let c = 0; c < 3; c++) sum[c] = (sum[c] ?? 0) + (color[c] ?? 0);
        }
      }
      const i = (py * size + px) * 4;
      if (covered === 0) continue;
      for (let c = 0; c < 3; c++) pixels[i + c] = Math.round((sum[c] ?? 0) / covered);
      pixels[i + 3] = Math.round((covered / (samples * samples)) * 255);
    }
  }
  return pixels;
}

function inside(s: Square, x: number, y: number): boolean {
  if (x < s.x || y < s.y || x > s.x + s.size || y > s.y + s.size) return false;
  const cx = Math.min(Math.max(x, s.x + s.radius), s.x + s.size - s.radius);
  const cy = Math.min(Math.max(y, s.y + s.radius), s.y + s.size - s.radius);
  return (x - cx) ** 2 + (y - cy) ** 2 <= s.radius ** 2;
}

export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (width * 4 + 1)] = 0; // filter: none
    rows.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const assets = path.join(import.meta.dirname, '..', 'assets');
  await writeFile(path.join(assets, 'icon.png'), encodePng(512, 512, iconPixels(512)));
  await writeFile(path.join(assets, 'icon.svg'), iconSvg());
  console.log('wrote assets/icon.png and assets/icon.svg');
}
