// Benchmark: reading an xl log (issue 8 §5) against plain line splitting of the same bytes.
//
// The text is what `xl -vvv remus -c` writes per COLO checkpoint (the per-cycle lines of the console's Xen log
// contract: suspended, checkpointed, the secondary's two record lines, the two back-channel Record lines), with a
// few lines nobody knows mixed in, cut into 32 KiB chunks as an SSH channel delivers them.
//   subject   XlLogReader: every line to its event and its resume offset, partial lines carried across chunks; one
//             reader for the whole run, as the console keeps one per log it follows;
//   baseline  the same chunks decoded and split into line strings (indexOf + slice, partial lines carried): what
//             any line-oriented tail does before it looks at a line.
// Throughput in MB/s of log; target: subject ≥ 0.5× baseline.

import { XlLogReader } from '../backends/xen/xl-log-reader.js';
import { type BenchResult, type Benchmark, type Target, interleave, now, round, series, verdict } from './harness.js';

const TARGET: Target = { kind: 'min', value: 0.5 };
const CHUNK = 32 * 1024;
const NAME = 'xl-log';
const TITLE = 'Xen log: xl lines to events vs plain line splitting';

function cycleLines(seq: number, domid: number): string[] {
  const pages = 40 + ((seq * 7919) % 900);
  const record = `libxl: debug: libxl_stream_read.c:857:stream_record_header_done: Domain ${domid}:Record: 5, length 4`;
  const lines = [
    'xc: progress: Domain now suspended: 0/0 0%',
    `xc: progress: Checkpointed save: ${pages}/${pages}  100%`,
    'xc: info: All records buffered',
    'xc: info: All records processed',
    record,
    record,
  ];
  // Now and then a line the reader has no pattern for (a warning from a device script, say).
  if (seq % 50 === 0) lines.push(`libxl: warning: libxl_colo_proxy.c:301:colo_proxy_checkpoint: Domain ${domid}:proxy answered late (${seq})`);
  return lines;
}

function logText(cycles: number): { bytes: Buffer; lines: number; checkpoints: number } {
  const all: string[] = [];
  for (let seq = 0; seq < cycles; seq++) all.push(...cycleLines(seq, 7));
  const bytes = Buffer.from(all.join('\n') + '\n', 'latin1');
  return { bytes, lines: all.length, checkpoints: cycles };
}

function chunked(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(Buffer.from(bytes.subarray(at, at + size)));
  return out;
}

export const xlLog: Benchmark = {
  name: NAME,
  title: TITLE,
  async run({ quick, log }): Promise<BenchResult> {
    const t0 = now();
    const rounds = quick ? 3 : 9;
    const cycles = quick ? 20_000 : 60_000;
    const text = logText(cycles);
    const chunks = chunked(text.bytes, CHUNK);

    let split = 0;
    const baselinePass = (): void => {
      let lines = 0;
      let rest = '';
      for (const chunk of chunks) {
        const t = rest + chunk.toString('utf8');
        let at = 0;
        for (;;) {
          const nl = t.indexOf('\n', at);
          if (nl < 0) break;
          split += t.slice(at, nl).length;
          lines++;
          at = nl + 1;
        }
        rest = t.slice(at);
      }
      if (lines !== text.lines) throw new Error(`split ${lines} lines, expected ${text.lines}`);
    };
    // One reader for the whole run, as the console keeps one per followed log: what it learned of the recurring
    // lines stays learned, as it does while a pair runs.
    const reader = new XlLogReader();
    let lastEnd = 0;
    let passes = 0;
    const subjectPass = (): void => {
      let checkpoints = 0;
      let lines = 0;
      for (const chunk of chunks) {
        reader.push(chunk, (event, end) => {
          lines++;
          if (event.kind === 'checkpointed') checkpoints++;
          lastEnd = end;
        });
      }
      if (lines !== text.lines || checkpoints !== text.checkpoints) throw new Error(`read ${lines} lines and ${checkpoints} checkpoints, expected ${text.lines} and ${text.checkpoints}`);
      passes++;
      if (lastEnd !== passes * text.bytes.length) throw new Error(`the last line ends at ${lastEnd}, expected ${passes * text.bytes.length}`);
    };

    log(`xl-log: ${(text.bytes.length / 1e6).toFixed(1)} MB, ${text.lines} lines (${cycles} checkpoints) in ${chunks.length} chunks of 32 KiB; warm-up`);
    for (let i = 0; i < 5; i++) {
      baselinePass();
      subjectPass();
    }
    const mbps = (ms: number): number => text.bytes.length / 1e6 / (ms / 1000);
    const { baseline, subject } = await interleave(
      rounds,
      () => {
        const t = now();
        baselinePass();
        return Promise.resolve(mbps(now() - t));
      },
      () => {
        const t = now();
        subjectPass();
        return Promise.resolve(mbps(now() - t));
      },
      log,
      (v) => `${v.toFixed(0)} MB/s`,
    );
    const b = series('decode + split into line strings', baseline);
    const s = series('XlLogReader: line → event + offset', subject);
    const result = verdict(b, s, TARGET);
    const nsPerLine = (m: number): number => (text.bytes.length / 1e6 / m) * 1e9 / text.lines;
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
        bytes: text.bytes.length,
        lines: text.lines,
        checkpoints: text.checkpoints,
        chunkBytes: CHUNK,
        baselineNsPerLine: round(nsPerLine(b.median), 1),
        subjectNsPerLine: round(nsPerLine(s.median), 1),
        // Folded from every split line, so the baseline cannot be optimised away.
        checksum: split % 1_000_003,
      },
      notes: [
        `per line (medians): plain split ${nsPerLine(b.median).toFixed(0)} ns, XlLogReader ${nsPerLine(s.median).toFixed(0)} ns; ${(text.lines / cycles).toFixed(2)} lines per checkpoint`,
      ],
    };
  },
};
