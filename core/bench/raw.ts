// The raw baselines the engine is measured against: the same round trips and the same bytes over the same kind of
// socket (loopback TCP, Nagle off, both ends in this process), with no protocol at all.

import type { Socket } from 'node:net';
import type { LoopbackPair } from './loopback.js';

const MESSAGE = 16;

/**
 * `cycles` cycles of two round trips each: P sends `firstBytes` (a small message, or a payload), S reads all of it
 * and answers with a small ack; P sends a small message, S answers again. Resolves with the elapsed time in ms.
 */
export function rawCycles(pair: LoopbackPair, cycles: number, firstBytes = MESSAGE): Promise<number> {
  const { a: p, b: s } = pair;
  const first = Buffer.alloc(firstBytes, 0x5a);
  const second = Buffer.alloc(MESSAGE, 0xa5);
  const ack = Buffer.alloc(MESSAGE, 0x01);
  return new Promise<number>((resolve, reject) => {
    let done = 0;
    // S: how many bytes of the current message it still expects, and which message that is.
    let sExpect = first.length;
    let sSecond = false;
    // P: bytes of the current ack still to come.
    let pExpect = MESSAGE;
    let pSecond = false;
    const onS = (chunk: Buffer): void => {
      let n = chunk.length;
      while (n > 0) {
        const used = Math.min(n, sExpect);
        n -= used;
        sExpect -= used;
        if (sExpect === 0) {
          s.write(ack);
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
        pExpect = MESSAGE;
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
