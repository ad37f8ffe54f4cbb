// One emulated QMP monitor: a unix-socket server for one side of the pair, talking like QEMU 7.2's socket monitor.
// Like a QEMU chardev server socket it serves one client at a time (a second one waits, unanswered, until the first
// leaves); it greets, accepts nothing but qmp_capabilities until negotiated, answers in-band commands in order and
// out-of-band ones at once, and sends events only to a negotiated client. While the side's main loop is blocked
// (7.2's deadlock) or the monitor is silenced by a test, in-band commands wait, and after eight waiting commands it
// stops reading the socket, out-of-band ones included, as QEMU does.

import net from 'node:net';
import { runCommand } from './commands.js';
import type { ColoPair, Side } from './pair.js';
import { GREETING_CAPABILITIES, OOB_COMMANDS, REQUEST_QUEUE_MAX, type ReplyBody, VERSION, errors } from './qemu-7.2.js';
import { type Json, JsonSplitter, qemuJson, qemuLine, qemuTimestamp } from './wire.js';

/** Ways the next reply can be broken, for tests of what a console does with a monitor that misbehaves. */
export type Malformation =
  /** The reply is cut half way and ended: bad JSON, and the real answer never comes. */
  | 'truncated'
  /** A line that is not JSON goes out before the real reply. */
  | 'not-json'
  /** A copy of the reply with an id nobody sent goes out before the real one. */
  | 'unknown-id';

interface Queued {
  name: string;
  args: Record<string, Json> | undefined;
  id: Json | undefined;
}

class Session {
  negotiated = false;
  oob = false;
  readonly queue: Queued[] = [];
  private readonly splitter = new JsonSplitter();
  private readonly heldOut: string[] = [];
  running = false;

  constructor(readonly sock: net.Socket, private readonly m: QmpMonitor) {
    sock.setEncoding('utf8');
    sock.on('data', (text: string) => this.take(text));
  }

  private take(text: string): void {
    const texts = this.splitter.push(text);
    if (texts === null) return void this.sock.destroy();
    for (const t of texts) this.input(t);
  }

  send(line: string): void {
    if (!this.sock.destroyed) this.sock.write(line);
  }

  private reply(id: Json | undefined, body: ReplyBody): void {
    // 7.2's member order: an error names its id first, a return names it last.
    const msg: Record<string, Json> = 'error' in body
      ? { ...(id === undefined ? {} : { id }), error: { ...body.error } }
      : { return: body.return, ...(id === undefined ? {} : { id }) };
    this.send(this.m.shape(msg, id));
  }

  private input(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return this.reply(undefined, { error: errors.parse(badToken(text)) });
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return this.reply(undefined, { error: errors.notObject() });
    const m = msg as Record<string, Json>;
    const id = m.id;
    // The checks of QEMU's request validation, in its order: member types, unknown members, then the command.
    for (const k of Object.keys(m)) {
      if (k === 'execute' || k === 'exec-oob') {
        if (typeof m[k] !== 'string') return this.reply(id, { error: errors.memberType(k, 'a string') });
      } else if (k === 'arguments') {
        const a = m[k];
        if (typeof a !== 'object' || a === null || Array.isArray(a)) return this.reply(id, { error: errors.memberType(k, 'an object') });
      } else if (k !== 'id') return this.reply(id, { error: errors.memberUnexpected(k) });
    }
    const oob = 'exec-oob' in m;
    if (oob && !this.oob) return this.reply(id, { error: errors.oobNotEnabled() });
    const name = (oob ? m['exec-oob'] : m.execute) as string | undefined;
    if (name === undefined) return this.reply(id, { error: errors.noExecute() });
    const args = m.arguments as Record<string, Json> | undefined;
    if (!this.negotiated) {
      if (name !== 'qmp_capabilities') return this.reply(id, { error: errors.needCapabilities() });
      return this.negotiate(args, id);
    }
    if (oob) {
      if (!OOB_COMMANDS.has(name)) return this.reply(id, { error: errors.notOob(name) });
      return runCommand(this.m.pair, this.m.side, name, args, (body) => this.reply(id, body));
    }
    if (name === 'qmp_capabilities') return this.reply(id, { error: errors.capabilitiesDone() });
    this.queue.push({ name, args, id });
    if (this.queue.length >= REQUEST_QUEUE_MAX) this.sock.pause();
    this.drain();
  }

  private negotiate(args: Record<string, Json> | undefined, id: Json | undefined): void {
    const enable = args?.enable;
    for (const k of Object.keys(args ?? {})) if (k !== 'enable') return this.reply(id, { error: errors.unexpected(k) });
    if (enable !== undefined) {
      if (!Array.isArray(enable)) return this.reply(id, { error: errors.invalidType('enable', 'array') });
      // QEMU 7.2 names no parameter here (it says 'null').
      for (const c of enable) if (c !== 'oob') return this.reply(id, { error: errors.badEnum('null', typeof c === 'string' ? c : qemuJson(c)) });
    }
    this.oob = Array.isArray(enable) && enable.includes('oob') && GREETING_CAPABILITIES.includes('oob');
    this.negotiated = true;
    this.reply(id, { return: {} });
  }

  /** Answers waiting in-band commands in order, unless the main loop is blocked. */
  drain(): void {
    while (this.queue.length > 0 && !this.m.blocked && !this.running) {
      const q = this.queue.shift()!;
      this.running = true;
      runCommand(this.m.pair, this.m.side, q.name, q.args, (body) => {
        this.running = false;
        this.reply(q.id, body);
      });
      if (this.running) return; // answered later (its callback drains again)
    }
    if (this.queue.length < REQUEST_QUEUE_MAX && this.sock.isPaused()) this.sock.resume();
  }

  event(line: string): void {
    if (!this.negotiated) return;
    if (this.m.silent) this.heldOut.push(line);
    else this.send(line);
  }

  flushHeld(): void {
    for (const l of this.heldOut.splice(0)) this.send(l);
  }
}

export class QmpMonitor {
  private server: net.Server | null = null;
  private detach: (() => void) | null = null;
  private session: Session | null = null;
  private readonly waiting: net.Socket[] = [];
  private malformations: Malformation[] = [];
  silent = false;

  constructor(readonly pair: ColoPair, readonly side: Side, readonly socketPath: string) {}

  get blocked(): boolean {
    return this.silent || this.pair.sides[this.side].hung;
  }

  async listen(): Promise<void> {
    const server = net.createServer((sock) => this.connected(sock));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    this.detach = this.pair.attach(this.side, (event, data) => {
      const line = qemuLine({ timestamp: qemuTimestamp(), event, ...(data === undefined ? {} : { data }) });
      this.session?.event(line);
      // A paused checkpoint may have unblocked the main loop; waiting commands go on.
      this.session?.drain();
    });
  }

  private connected(sock: net.Socket): void {
    sock.on('error', () => {});
    if (this.session !== null) {
      sock.pause();
      this.waiting.push(sock);
      sock.on('close', () => this.waiting.splice(this.waiting.indexOf(sock) >>> 0, 1));
      return;
    }
    const session = new Session(sock, this);
    this.session = session;
    sock.on('close', () => {
      if (this.session === session) this.session = null;
      const next = this.waiting.shift();
      if (next !== undefined && !next.destroyed) {
        next.removeAllListeners('close');
        next.resume();
        this.connected(next);
      }
    });
    session.send(qemuLine({ QMP: { version: structuredClone(VERSION), capabilities: [...GREETING_CAPABILITIES] } }));
  }

  /** Stops answering in-band commands and holding back events (as a blocked main loop does), or starts again. */
  setSilent(on: boolean): void {
    this.silent = on;
    if (!on && this.session !== null) {
      this.session.flushHeld();
      this.session.drain();
    }
  }

  malformNext(kind: Malformation): void {
    this.malformations.push(kind);
  }

  /** The wire text of one reply, broken as a test asked. */
  shape(msg: Record<string, Json>, id: Json | undefined): string {
    const line = qemuLine(msg);
    const kind = this.malformations.shift();
    switch (kind) {
      case undefined:
        return line;
      case 'truncated':
        return `${line.slice(0, Math.floor(line.length / 2))}\r\n`;
      case 'not-json':
        return `{"return": {"status": runn\r\n${line}`;
      case 'unknown-id':
        return `${qemuJson({ ...msg, id: `not-${JSON.stringify(id ?? null)}` })}\r\n${line}`;
    }
  }

  /** Like the process being killed: every connection drops and the socket stops accepting. */
  async close(): Promise<void> {
    this.detach?.();
    this.detach = null;
    this.session?.sock.destroy();
    for (const s of this.waiting.splice(0)) s.destroy();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The first bare word outside strings that is not a JSON literal: what QEMU's lexer calls an invalid keyword. */
function badToken(text: string): string {
  const outside = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const word = outside.match(/[A-Za-z_][\w-]*/g)?.find((w) => w !== 'true' && w !== 'false' && w !== 'null');
  return word ?? outside.trim().slice(0, 1);
}
