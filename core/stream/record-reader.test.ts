// RecordReader over real streams: a Readable and a loopback TCP connection. Items arrive in order, a slow consumer
// holds the producer back instead of piling bytes up in the decoder, ends and errors come out the right way.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordReader, StreamDecoder, StreamError, type StreamItem, type StreamKind, encodeTscInfo } from './index.js';
import { TSC, backChannel, cat, decodeAll, forwardStream, randomSplit, rawRecord, snapshot } from './test-support/fixtures.js';

const T = { timeout: 10_000 };

async function readAll(reader: RecordReader, onItem?: (item: StreamItem) => Promise<void> | void): Promise<StreamItem[]> {
  const items: StreamItem[] = [];
  for (let item = await reader.next(); item; item = await reader.next()) {
    items.push(item);
    await onItem?.(item);
  }
  return items;
}

/** Rejects if `p` has not settled in `ms`: a reader that waits for bytes that never come must not hang a test. */
async function within<V>(p: Promise<V>, ms: number, what: string): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A source that makes its bytes on demand, one chunk per _read, and counts how far it got. */
class ChunkSource extends Readable {
  produced = 0;
  constructor(private readonly data: Buffer, private readonly chunk: number, highWaterMark: number) {
    super({ highWaterMark });
  }

  override _read(): void {
    setImmediate(() => {
      if (this.produced >= this.data.length) {
        this.push(null);
        return;
      }
      const c = this.data.subarray(this.produced, this.produced + this.chunk);
      this.produced += c.length;
      this.push(c);
    });
  }
}

function reader(kind: StreamKind, source: Readable): RecordReader {
  return new RecordReader(source, new StreamDecoder(kind));
}

describe('RecordReader over a Readable', () => {
  const colo = forwardStream({ mode: 'colo', cycles: 3, pages: 2, trailingNew: true }).bytes();
  const expected = decodeAll('xl', colo).items.map(snapshot);

  test('items arrive in order, then null, and null again', T, async () => {
    const r = reader('xl', Readable.from(randomSplit(colo, 11, 3000)));
    const items = await readAll(r);
    assert.deepEqual(items.map(snapshot), expected);
    assert.equal(await r.next(), null);
    assert.equal(r.decoder.endPosition(), 'between-checkpoints');
  });

  test('a plain stream ends with null right after END, also when the source ends later', T, async () => {
    const plain = forwardStream({ mode: 'plain', pages: 1 }).bytes();
    const fromArray = reader('xl', Readable.from([plain]));
    const items = await within(readAll(fromArray), 2000, 'reading a plain stream');
    assert.equal(items.length, decodeAll('xl', plain).items.length);
    assert.equal(fromArray.decoder.endPosition(), 'complete');

    const late = new Readable({ read() {} });
    late.push(plain);
    setTimeout(() => late.push(null), 30);
    const r = reader('xl', late);
    assert.equal((await within(readAll(r), 2000, 'waiting for the late end')).length, items.length);
    assert.equal(await r.next(), null);
  });

  test('bytes after END are reported, not silently left in the source', T, async () => {
    const plain = forwardStream({ mode: 'plain', pages: 0 }).bytes();
    const r = reader('xl', Readable.from([plain, Buffer.from([0, 0, 0, 0])]));
    await assert.rejects(within(readAll(r), 2000, 'trailing bytes'),
      (e: unknown) => e instanceof StreamError && e.code === 'unexpected-record' && e.offset === plain.length);
  });

  test('a slow consumer: the decoder never holds more than one record plus one chunk, the source stays bounded', T, async () => {
    const b = forwardStream({ mode: 'remus', cycles: 24, pages: 1 });
    const bytes = b.bytes();
    const chunk = 1000;
    const hwm = 8 * 1024;
    const biggest = Math.max(...b.parts.map((p) => p.wireLength));
    const source = new ChunkSource(bytes, chunk, hwm);
    const r = reader('xl', source);
    let maxBuffered = 0;
    let maxAhead = 0;
    const items = await readAll(r, async () => {
      maxBuffered = Math.max(maxBuffered, r.decoder.buffered);
      // Bytes made by the source but not yet decoded: in the decoder or still in the Readable's buffer.
      maxAhead = Math.max(maxAhead, source.produced - r.decoder.offset);
      await sleep(1);
    });
    assert.equal(items.length, b.parts.length);
    assert.ok(maxBuffered <= biggest + chunk, `decoder held ${maxBuffered} bytes; one record is at most ${biggest}`);
    assert.ok(maxAhead <= biggest + chunk + hwm + chunk, `source ran ${maxAhead} bytes ahead of the consumer`);
    assert.ok(bytes.length > 4 * (biggest + hwm), 'the stream is long enough for the bound to mean something');
  });

  test('a corrupt source gives a StreamError after the good items', T, async () => {
    const bad = Buffer.from(colo);
    const firstRecordAfterHeaders = expected.findIndex((i) => i['kind'] === 'record' && i['name'] === 'X86_CPUID_POLICY');
    const at = expected[firstRecordAfterHeaders]!['offset'] as number;
    bad.writeUInt32LE(0x7777, at); // an unknown mandatory libxc type
    const r = reader('xl', Readable.from(randomSplit(bad, 5, 700)));
    const got: StreamItem[] = [];
    await assert.rejects(readAll(r, (i) => void got.push(i)), (e: unknown) => e instanceof StreamError && e.code === 'unknown-record' && e.offset === at);
    assert.equal(got.length, firstRecordAfterHeaders);
  });

  test('a source that ends inside a record gives truncated at that record', T, async () => {
    const cut = expected.find((i) => i['name'] === 'HVM_CONTEXT')!;
    const end = (cut['offset'] as number) + 12;
    const r = reader('xl', Readable.from([colo.subarray(0, end)]));
    await assert.rejects(readAll(r), (e: unknown) => e instanceof StreamError && e.code === 'truncated' && e.offset === cut['offset']);
  });

  test('a source error propagates as it is', T, async () => {
    const failure = new Error('ssh died');
    const source = new Readable({ read() {} });
    const r = reader('xl', source);
    source.push(colo.subarray(0, 1000));
    setTimeout(() => source.destroy(failure), 20);
    const got: StreamItem[] = [];
    await assert.rejects(within(readAll(r, (i) => void got.push(i)), 2000, 'source error'), (e: unknown) => e === failure);
    assert.ok(got.length >= 2, 'the complete items before the failure were delivered');
  });

  test('an absurd length is rejected at once, while the source stays open', T, async () => {
    const source = new Readable({ read() {} });
    const r = reader('libxc', source);
    source.push(cat(forwardStream({ mode: 'colo', cycles: 1 }).parts[3]!.bytes, Buffer.from([9, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f])));
    assert.equal((await r.next())?.kind, 'libxc-header');
    await assert.rejects(within(r.next(), 2000, 'absurd length'), (e: unknown) => e instanceof StreamError && e.code === 'record-too-long' && e.offset === 44);
    source.destroy();
  });

  test('the back channel: items, then null when the secondary closes', T, async () => {
    const back = backChannel(4).bytes();
    const r = reader('back', Readable.from(randomSplit(back, 3, 20)));
    const items = await readAll(r);
    assert.deepEqual(items.map(snapshot), decodeAll('back', back).items.map(snapshot));
  });
});

describe('RecordReader over a loopback socket', () => {
  async function pair(serve: (socket: net.Socket) => void): Promise<{ client: net.Socket; close: () => Promise<void> }> {
    const server = net.createServer(serve);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect(port, '127.0.0.1');
    await once(client, 'connect');
    return {
      client,
      close: async () => {
        client.destroy();
        server.close();
        await once(server, 'close');
      },
    };
  }

  /** Writes in pieces, waiting for 'drain' when the socket says so, then ends. */
  async function writeAll(socket: net.Socket, bytes: Buffer, piece: number): Promise<void> {
    for (let at = 0; at < bytes.length; at += piece) {
      if (!socket.write(bytes.subarray(at, at + piece))) await once(socket, 'drain');
    }
    socket.end();
  }

  test('a COLO forward stream over TCP, read by a slow consumer', T, async () => {
    const b = forwardStream({ mode: 'colo', cycles: 8, pages: 2, trailingNew: true });
    const bytes = b.bytes();
    const biggest = Math.max(...b.parts.map((p) => p.wireLength));
    const { client, close } = await pair((s) => void writeAll(s, bytes, 1500));
    try {
      const r = reader('xl', client);
      let maxBuffered = 0;
      let n = 0;
      const items = await readAll(r, async () => {
        maxBuffered = Math.max(maxBuffered, r.decoder.buffered);
        if (n++ % 4 === 0) await sleep(1);
      });
      assert.deepEqual(items.map(snapshot), decodeAll('xl', bytes).items.map(snapshot));
      assert.equal(await r.next(), null);
      assert.equal(r.decoder.checkpoints, 8);
      assert.ok(maxBuffered <= biggest + 64 * 1024, `decoder held ${maxBuffered} bytes`);
    } finally {
      await close();
    }
  });

  test('the connection closing inside a record is a truncation', T, async () => {
    const bytes = forwardStream({ mode: 'colo', cycles: 1, pages: 1 }).bytes();
    const { items } = decodeAll('xl', bytes);
    const page = items.find((i) => i.kind === 'record' && i.name === 'PAGE_DATA')!;
    const { client, close } = await pair((s) => void writeAll(s, bytes.subarray(0, page.offset + 100), 64));
    try {
      const r = reader('xl', client);
      await assert.rejects(within(readAll(r), 5000, 'truncated socket'),
        (e: unknown) => e instanceof StreamError && e.code === 'truncated' && e.offset === page.offset);
    } finally {
      await close();
    }
  });

  test('the back channel over TCP, banner first, ending cleanly', T, async () => {
    const back = cat(backChannel(5).bytes());
    const { client, close } = await pair((s) => void writeAll(s, back, 7));
    try {
      const r = reader('back', client);
      const items = await within(readAll(r), 5000, 'back channel');
      assert.deepEqual(items.map(snapshot), decodeAll('back', back).items.map(snapshot));
    } finally {
      await close();
    }
  });

  test('a peer that stops sending leaves next() pending, not failed; later bytes complete the item', T, async () => {
    const tsc = cat(encodeTscInfo(TSC));
    const headers = forwardStream({ mode: 'colo', cycles: 1 }).parts[3]!.bytes;
    let serverSocket: net.Socket | undefined;
    const { client, close } = await pair((s) => {
      serverSocket = s;
      s.write(cat(headers, tsc.subarray(0, 10)));
    });
    try {
      const r = reader('libxc', client);
      assert.equal((await r.next())?.kind, 'libxc-header');
      const pending = r.next();
      const state = await Promise.race([pending.then(() => 'settled'), sleep(100).then(() => 'pending')]);
      assert.equal(state, 'pending');
      serverSocket!.end(cat(tsc.subarray(10), rawRecord(0)));
      const item = await within(pending, 2000, 'completed item');
      assert.equal(item?.kind === 'record' && item.name, 'X86_TSC_INFO');
      assert.equal((await r.next())?.kind, 'record');
      assert.equal(await r.next(), null);
      assert.equal(r.decoder.endPosition(), 'complete');
    } finally {
      await close();
    }
  });
});
