// Two ends of one loopback TCP connection in this process, with Nagle off on both: the transport every engine
// benchmark and every raw baseline uses, so the comparison is between protocols, not between kernels paths.

import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';

export interface LoopbackPair {
  /** The connecting end (the primary's side). */
  a: Socket;
  /** The accepted end (the secondary's side). */
  b: Socket;
  /** Destroys both ends. */
  close(): void;
}

export async function loopbackPair(): Promise<LoopbackPair> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('loopback server has no TCP address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const a = connect(address.port, '127.0.0.1');
  await once(a, 'connect');
  const [b] = await accepted;
  server.close();
  a.setNoDelay(true);
  b.setNoDelay(true);
  return {
    a,
    b,
    close(): void {
      a.destroy();
      b.destroy();
    },
  };
}
