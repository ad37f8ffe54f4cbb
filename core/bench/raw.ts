// The raw baselines the engine is measured against: the same round trips and the same bytes over the same kind of
// socket (loopback TCP, Nagle off, both ends in this process), with no protocol at all.

import type { Socket } from 'node:net';
import type { LoopbackPair } from './loopback.js';

const MESSAGE = 16;

/** Bytes of the four messages of one raw cycle: P→S, S→P, P→S, S→P. */
export interface MessageSizes {
  first: number;
  firstAck: number;
  second: number;
  secondAck: number;
}

/**
 * `cycles` cycles of two round trips each: P sends its first message, S reads all of it and answers; P sends the
 * second, S answers again. `sizes` is a number for a payload in the first message with 16-byte others, or the four
 * sizes. Resolves with the elapsed time in ms.
 */
export function rawCycles(pair: LoopbackPair, cycles: number, sizes: number | Partial<MessageSizes> = MESSAGE): Promise<number> {
  const { a: p, b: s } = pair;
  const size: MessageSizes = { first: MESSAGE, firstAck: MESSAGE, second: MESSAGE, secondAck: MESSAGE, ...(typeof sizes === 'number' ? { first: sizes } : sizes) };
  const first = Buffer.alloc(size.first, 0x5a);
  const second = Buffer.alloc(size.second, 0xa5);
  const acks = [Buffer.alloc(size.firstAck, 0x01), Buffer.alloc(size.secondAck, 0x02)] as const;
  return new Promise<number>((resolve, reject) => {
    let done = 0;
    // S: how many bytes of the current message it still expects, and which message that is.
    let sExpect = first.length;
    let sSecond = false;
    // P: bytes of the current ack still to come.
    let pExpect = acks[0].length;
    let pSecond = false;
    const onS = (chunk: Buffer): void => {
      let n = chunk.length;
      while (n > 0) {
        const used = Math.min(n, sExpect);
        n -= used;
        sExpect -= used;
        if (sExpect === 0) {
          s.write(acks[sSecond ? 1 : 0]);
          sSecond = !sSecond;
          sExpect = sSecond ? second.length : first.length;
        }
      }
    };
    const onP = (chunk: Buffer): void => {
      let n = chunk.length;
      while (n > 0) {
        const used = Math.min(n, pExpect);
        n -= used;
        pExpect -= used;
        if (pExpect > 0) continue;
        pExpect = acks[pSecond ? 0 : 1].length;
        if (!pSecond) {
          pSecond = true;
          p.write(second);
        } else {
          pSecond = false;
          if (++done === cycles) {
            finish();
            resolve(performance.now() - started);
            return;
          }
          p.write(first);
        }
      }
    };
    const onError = (err: Error): void => {
      finish();
      reject(err);
    };
    const finish = (): void => {
      s.off('data', onS);
      p.off('data', onP);
      detach(p, onError);
      detach(s, onError);
    };
    s.on('data', onS);
    p.on('data', onP);
    p.on('error', onError);
    s.on('error', onError);
    const started = performance.now();
    p.write(first);
  });
}

function detach(socket: Socket, onError: (err: Error) => void): void {
  socket.off('error', onError);
}
