// Benchmark 1: PAGE_DATA encode + decode throughput against a raw copy of the same bytes.
//
// Subject, per pass (everything a sender's codec and a real receiver do, minus the kernel's socket copy):
//   encode  every page of a source SimDomain into PAGE_DATA records of 1,024 pages (pageDataRecords, as the
//           primary does; the page bytes are referenced, not copied);
//   decode  the wire bytes, delivered as 64 KiB chunks the way a socket read hands them over, through one
//           StreamDecoder, pushing only as much as it asks for (as RecordReader does);
//   deliver every page of every parsed record as its own byte range (a view, or a copy where a page straddles two
//           socket chunks), touching its first and last byte: what the decoder hands a receiver.
// Applying the pages to guest memory is the secondary's work, not the codec's: the engine-dirty benchmark measures
// it against a raw transfer. Here it runs in the warm-up only, to prove the decoded pages are the source's.
// Baseline, per pass: one Buffer.copy of each of the same 64 KiB chunks into a preallocated buffer.
// The wire chunks are built once, outside the timings, from the same encoder: that copy is the socket's.

import { SimDomain } from '../backends/sim/sim-domain.js';
import { applyPageData, pageDataRecords } from '../colo/checkpoint-records.js';
import { PAGE_DATA_BATCH_MAX, PAGE_SIZE, type PageData, StreamDecoder, chunksLength, encodeLibxcHeaders } from '../stream/index.js';
import { type BenchResult, type Benchmark, type Target, interleave, verdict, now, round, series } from './harness.js';

const TARGET: Target = { kind: 'min', value: 0.5 };
const SOCKET_CHUNK = 64 * 1024;

/** Cuts the byte stream made of `parts` into fresh chunks of `size` bytes (the last may be shorter). */
function toSocketChunks(parts: readonly Uint8Array[], size: number): Buffer[] {
  const total = chunksLength(parts);
  const out: Buffer[] = [];
  let current = Buffer.allocUnsafe(Math.min(size, total));
  let fill = 0;
  let left = total;
  for (const part of parts) {
    let at = 0;
    while (at < part.byteLength) {
      const n = Math.min(part.byteLength - at, current.length - fill);
      current.set(part.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === current.length) {
        out.push(current);
        left -= fill;
        current = Buffer.allocUnsafe(Math.min(size, left));
        fill = 0;
      }
    }
  }
  return out;
}

interface Timing {
  encodeMs: number;
  /** StreamDecoder.push/next, record parsing included. */
  decodeMs: number;
  /** applyPageData into the target domain. */
  applyMs: number;
}

const newTiming = (): Timing => ({ encodeMs: 0, decodeMs: 0, applyMs: 0 });

const NAME = 'codec';
const TITLE = 'Codec: PAGE_DATA encode + decode vs raw copy';

export const codec: Benchmark = {
  name: NAME,
  title: TITLE,
  async run({ quick, log }): Promise<BenchResult> {
    const t0 = now();
    const rounds = quick ? 3 : 9;
    const pageCount = quick ? 8192 : 16384; // 32 or 64 MiB of pages per pass
    const passes = quick ? 2 : 4;
    const source = new SimDomain({ name: 'codec-src', pageCount, fill: 'random' });
    const target = new SimDomain({ name: 'codec-dst', pageCount });
    const pfns = Uint32Array.from({ length: pageCount }, (_, i) => i);
    const header = encodeLibxcHeaders({ xenMajor: 4, xenMinor: 20 });
    const wire = toSocketChunks([header, ...pageDataRecords(source, pfns)], SOCKET_CHUNK);
    const wireBytes = chunksLength(wire);
    const sink = Buffer.allocUnsafe(wireBytes);
    const expectedRecordBytes = wireBytes - header.length;

    const encode = (): void => {
      let bytes = 0;
      for (let start = 0; start < pageCount; start += PAGE_DATA_BATCH_MAX) {
        bytes += chunksLength(pageDataRecords(source, pfns, start, Math.min(start + PAGE_DATA_BATCH_MAX, pageCount)));
      }
      if (bytes !== expectedRecordBytes) throw new Error(`encoded ${bytes} bytes, expected ${expectedRecordBytes}`);
    };
    let touched = 0;
    const deliver = (pages: PageData): number => {
      for (let i = 0; i < pages.pfns.length; i++) {
        const index = pages.dataIndex[i]!;
        if (index < 0) continue;
        const page = pages.data.subarray(index * PAGE_SIZE, (index + 1) * PAGE_SIZE);
        touched ^= page[0]! ^ page[PAGE_SIZE - 1]!;
      }
      return pages.pfns.length;
    };
    const decode = (timing: Timing, apply: boolean): void => {
      const decoder = new StreamDecoder('libxc', { p2mSize: pageCount });
      let next = 0;
      let delivered = 0;
      let t = now();
      for (;;) {
        const item = decoder.next();
        if (item) {
          if (item.kind === 'record' && item.parsed?.kind === 'page-data') {
            if (apply) {
              const a = now();
              timing.decodeMs += a - t;
              delivered += applyPageData(target, item.parsed.value);
              t = now();
              timing.applyMs += t - a;
            } else {
              delivered += deliver(item.parsed.value);
            }
          }
          continue;
        }
        if (next === wire.length) break;
        while (next < wire.length && decoder.needed > 0) decoder.push(wire[next++]!);
      }
      timing.decodeMs += now() - t;
      if (delivered !== pageCount) throw new Error(`delivered ${delivered} pages, expected ${pageCount}`);
      if (decoder.buffered !== 0) throw new Error(`${decoder.buffered} bytes left undecoded`);
    };
    const subjectPass = (timing: Timing, apply = false): void => {
      const a = now();
      encode();
      timing.encodeMs += now() - a;
      decode(timing, apply);
    };
    const baselinePass = (): void => {
      let at = 0;
      for (const chunk of wire) at += chunk.copy(sink, at);
      if (at !== wireBytes) throw new Error('raw copy came up short');
    };

    log(`codec: ${(wireBytes / 2 ** 20).toFixed(1)} MiB per pass in ${wire.length} chunks of 64 KiB, ${passes} pass(es) per sample; warm-up`);
    const warmTiming = newTiming();
    for (let i = 0; i < 8; i++) {
      baselinePass();
      subjectPass(warmTiming, true);
    }
    // Proof the subject did the whole job: the target now holds the source's memory, byte for byte.
    if (target.memoryDigest() !== source.memoryDigest()) throw new Error('decoded memory differs from the source');
    if (!sink.equals(Buffer.concat(wire))) throw new Error('raw copy differs from the wire');

    const timings: Timing[] = [];
    const mbps = (ms: number): number => (wireBytes * passes) / 1e6 / (ms / 1000);
    const { baseline, subject } = await interleave(
      rounds,
      () => {
        const t = now();
        for (let i = 0; i < passes; i++) baselinePass();
        return Promise.resolve(mbps(now() - t));
      },
      () => {
        const timing = newTiming();
        const t = now();
        for (let i = 0; i < passes; i++) subjectPass(timing);
        const ms = now() - t;
        timings.push(timing);
        return Promise.resolve(mbps(ms));
      },
      log,
      (v) => `${v.toFixed(0)} MB/s`,
    );
    const b = series('raw Buffer.copy of the 64 KiB chunks', baseline);
    const s = series('encode + StreamDecoder, every page delivered', subject);
    const result = verdict(b, s, TARGET);
    const mean = (pick: (t: Timing) => number): number => timings.reduce((x, t) => x + pick(t), 0) / timings.length / passes;
    const encodeMs = mean((t) => t.encodeMs);
    const decodeMs = mean((t) => t.decodeMs);
    const applyMs = warmTiming.applyMs / 8;
    const rawMs = (wireBytes / 1e6 / b.median) * 1000;
    return {
      name: NAME,
      title: TITLE,
      metric: 'throughput',
      unit: 'MB/s',
      higherIsBetter: true,
      ...result,
      rounds,
      elapsedMs: now() - t0,
      details: {
        pagesPerPass: pageCount,
        pagesPerRecord: PAGE_DATA_BATCH_MAX,
        wireBytesPerPass: wireBytes,
        socketChunkBytes: SOCKET_CHUNK,
        passesPerSample: passes,
        meanEncodeMsPerPass: round(encodeMs),
        meanDecodeMsPerPass: round(decodeMs),
        meanApplyMsPerPass: round(applyMs),
        rawCopyMsPerPass: round(rawMs),
        pageBytesPerPass: pageCount * PAGE_SIZE,
        // Folded from every delivered page, so no engine can skip producing them.
        checksum: touched,
      },
      notes: [
        `per ${(wireBytes / 2 ** 20).toFixed(0)} MiB pass (means): raw copy ${rawMs.toFixed(1)} ms; subject: encode ${encodeMs.toFixed(1)} ms + decode ${decodeMs.toFixed(1)} ms; applying the pages to guest memory (warm-up, not timed) ${applyMs.toFixed(1)} ms`,
        'MB = 10^6 bytes of wire (records + headers); the target memory matched the source byte for byte',
      ],
    };
  },
};
