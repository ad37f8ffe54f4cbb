// `stream inspect FILE`: decodes a recorded stream (xl save file, bare libxl or libxc stream, or a back channel)
// and summarises its records and checkpoints. Reads the file as a stream, so its size does not matter.

import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import {
  LIBXC_MARKER,
  LIBXL_IDENT,
  RecordReader,
  StreamDecoder,
  type StreamItem,
  type StreamKind,
  XL_MAGIC,
  XL_RECEIVER_BANNER,
  checkpointStateName,
} from '../stream/index.js';
import { UsageError, parse } from './args.js';
import { escapeControls, jsonLine } from './terminal-text.js';

export const INSPECT_HELP = `Usage: colo-console stream inspect [options] FILE

Decodes a Xen migration stream and prints its records and checkpoints in summary.
FILE may be an xl save file or migration stream (what 'demo --record-stream' writes), a bare libxl v2 or
libxc v3 stream, or a recorded back channel; the kind is detected from the first bytes.
A corrupt file gives one line naming the problem and its byte offset, and exit status 1.

Options:
  --records      list every record (offset, layer, type, length), not just the summary
  --json         one JSON object per line instead of text
  --xen-418-dirty-list
                 back channel written by Xen >= 4.18 (8 extra bytes after the dirty-list header)
  -h, --help     show this help`;

/** The options of `stream inspect`, exported so a test can hold the help to them. */
export const INSPECT_OPTIONS = {
  records: { type: 'boolean' },
  json: { type: 'boolean' },
  'xen-418-dirty-list': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function detectKind(path: string): Promise<StreamKind> {
  if ((await stat(path)).isDirectory()) throw new InspectError(`${path} is a directory, not a stream file`);
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(XL_RECEIVER_BANNER.length);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    if (bytesRead === 0) throw new InspectError('file is empty (at byte 0)');
    if (bytes.length >= 8 && bytes.subarray(0, 32).equals(XL_MAGIC.subarray(0, Math.min(32, bytes.length)))) return 'xl';
    if (bytes.length >= 8 && bytes.readBigUInt64BE(0) === LIBXL_IDENT) return 'libxl';
    if (bytes.length >= 8 && bytes.readBigUInt64BE(0) === LIBXC_MARKER) return 'libxc';
    if (bytes.equals(XL_RECEIVER_BANNER.subarray(0, bytes.length))) return 'back';
    throw new InspectError('not a Xen migration stream: no xl, libxl, libxc or back-channel header (at byte 0)');
  } finally {
    await file.close();
  }
}

export class InspectError extends Error {}

interface CheckpointSummary {
  index: number;
  offset: number;
  bytes: number;
  records: number;
  pageRecords: number;
  pages: number;
  emulatorBytes: number;
  states: string[];
}

export async function inspectCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const { values, positionals } = parse('stream inspect', argv, INSPECT_OPTIONS, 1);
  if (values.help) {
    out(INSPECT_HELP);
    return 0;
  }
  const path = positionals[0];
  if (!path) throw new UsageError("stream inspect: missing FILE (see 'stream inspect --help')");
  const kind = await detectKind(path);
  const decoder = new StreamDecoder(kind, { dirtyPfnListHeader: values['xen-418-dirty-list'] ? 16 : 8 });
  const reader = new RecordReader(createReadStream(path, { highWaterMark: 256 * 1024 }), decoder);
  const json = values.json === true;
  // Text read from the stream (a domain name) must not drive the terminal; JSON escapes it by itself.
  const emit = (text: string, obj: object): void => out(json ? jsonLine(obj) : escapeControls(text));

  let current = newCheckpoint(0, 0);
  const totals = { records: 0, pages: 0, checkpoints: 0 };
  let item: StreamItem | null;
  while ((item = await reader.next()) !== null) {
    if (item.kind !== 'record') {
      emit(describeHeader(item), { kind: item.kind, offset: item.offset, ...('header' in item ? { header: item.header } : {}) });
      current.offset = decoder.offset;
      continue;
    }
    totals.records++;
    current.records++;
    current.bytes += item.wireLength;
    const parsed = item.parsed;
    let detail = '';
    if (parsed?.kind === 'page-data') {
      const pages = parsed.value.data.length / 4096;
      current.pageRecords++;
      current.pages += pages;
      totals.pages += pages;
      detail = `${parsed.value.pfns.length} pfns, ${pages} pages`;
    } else if (parsed?.kind === 'checkpoint-state') {
      detail = checkpointStateName(parsed.id);
      current.states.push(detail);
    } else if (parsed?.kind === 'emulator') {
      current.emulatorBytes += parsed.value.data.length;
      detail = `emulator ${parsed.value.emulatorId}, ${parsed.value.data.length} bytes`;
    } else if (parsed?.kind === 'dirty-pfns') {
      detail = `${parsed.pfns.length} pfns`;
    }
    if (item.skipped) detail = 'optional record, skipped';
    if (values.records) {
      emit(`  @${item.offset}  ${item.layer.padEnd(5)} ${item.name.padEnd(26)} ${String(item.length).padStart(9)} B  ${detail}`,
        { kind: 'record', offset: item.offset, layer: item.layer, type: item.type, name: item.name, length: item.length, detail });
    }
    if (decoder.checkpoints > totals.checkpoints) {
      totals.checkpoints = decoder.checkpoints;
      emit(describeCheckpoint(current), { kind: 'checkpoint', ...current });
      current = newCheckpoint(current.index + 1, decoder.offset);
    }
  }
  const end = decoder.endPosition();
  if (current.records > 0 && end === 'inside-checkpoint') {
    const what = kind === 'back'
      ? `back channel: ${current.records} records (${current.states.join(', ') || 'no states'})`
      : `checkpoint ${current.index} incomplete: ${current.records} records, ${current.pages} pages; a secondary would discard it`;
    emit(`${what} (from byte ${current.offset})`, { kind: 'partial', ...current });
  }
  const endText = {
    nothing: 'empty',
    complete: 'ends with END',
    'between-checkpoints': 'ends between checkpoints (a checkpointed stream ends when replication stops)',
    'inside-checkpoint': kind === 'back' ? 'ends' : 'ends inside a checkpoint',
  }[end];
  emit(
    `${kind} stream, ${decoder.offset} bytes, ${totals.records} records, ${totals.checkpoints} complete checkpoints, ${totals.pages} pages; ${endText}`,
    { kind: 'summary', stream: kind, bytes: decoder.offset, records: totals.records, checkpoints: totals.checkpoints, pages: totals.pages, end },
  );
  return 0;
}

function newCheckpoint(index: number, offset: number): CheckpointSummary {
  return { index, offset, bytes: 0, records: 0, pageRecords: 0, pages: 0, emulatorBytes: 0, states: [] };
}

function describeCheckpoint(c: CheckpointSummary): string {
  const label = c.index === 0 ? 'checkpoint 0 (initial copy)' : `checkpoint ${c.index}`;
  const states = c.states.length ? `, ${c.states.join(', ')}` : '';
  return `${label} @${c.offset}: ${c.records} records, ${c.bytes} bytes, ${c.pages} pages in ${c.pageRecords} PAGE_DATA, emulator state ${c.emulatorBytes} bytes${states}`;
}

function describeHeader(item: Exclude<StreamItem, { kind: 'record' }>): string {
  switch (item.kind) {
    case 'xl-header': {
      const h = item.header;
      const name = h.config ? configName(h.config) : undefined;
      return `xl save-file header: flags 0x${h.mandatoryFlags.toString(16)}/0x${h.optionalFlags.toString(16)}, config ${h.config ? `${h.config.length} bytes` : 'absent'}${name ? ` (domain ${name})` : ''}`;
    }
    case 'libxl-header':
      return `libxl stream v2, options 0x${item.header.options.toString(16)}`;
    case 'libxc-header':
      return `libxc stream v3: ${item.header.domainType === 2 ? 'x86 HVM' : 'x86 PV'} domain, page shift ${item.header.pageShift}, from Xen ${item.header.xenMajor}.${item.header.xenMinor}`;
    case 'banner':
      return 'xl receiver banner';
  }
}

function configName(json: string): string | undefined {
  try {
    const parsed = JSON.parse(json) as { c_info?: { name?: unknown } };
    return typeof parsed.c_info?.name === 'string' ? parsed.c_info.name.slice(0, 64) : undefined;
  } catch {
    return undefined;
  }
}
