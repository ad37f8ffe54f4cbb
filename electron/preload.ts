// The preload of the console window. It runs sandboxed (no Node, a require() that knows only 'electron' and a few
// built-ins), so build.ts bundles it with everything it imports into one CommonJS file.
//
// It runs core/api's client over IPC and exposes, through contextBridge, exactly the contract: one function per
// method and subscribe() (bridge.ts). ipcRenderer itself, IPC events and Electron objects never reach the page.

import { contextBridge, ipcRenderer } from 'electron';
import { z } from 'zod';
import { createClient } from '../core/api/client.js';
import type { RpcChannel } from '../core/api/protocol.js';
import { consoleContract } from '../core/api/console-contract.js';
import { BRIDGE_KEY, createBridge } from './bridge.js';
import { IPC_HELLO, IPC_RPC } from './constants.js';
import { isEnvelope } from './ipc-endpoint.js';

// zod would probe `new Function` once to decide whether it may compile validators; the page's CSP forbids eval,
// and the refused probe shows up as a CSP violation report. Interpreted validation is fast enough here.
z.config({ jitless: true });

const session = randomSessionId();

const channel: RpcChannel = {
  send(msg) {
    ipcRenderer.send(IPC_RPC, { session, msg });
  },
  onMessage(cb) {
    const listener = (_event: Electron.IpcRendererEvent, envelope: unknown): void => {
      // Only this page's session: a late batch meant for the page before a reload is not ours.
      if (isEnvelope(envelope) && envelope.session === session) cb(envelope.msg);
    };
    ipcRenderer.on(IPC_RPC, listener);
    return () => {
      ipcRenderer.removeListener(IPC_RPC, listener);
    };
  },
};

const report = (err: unknown): void => console.warn('colo-console:', err instanceof Error ? err.message : err);

// 'hello' goes first, so main has replaced any previous page's session before this page's first request arrives.
ipcRenderer.send(IPC_HELLO, { session });
// The same default deadline as the renderer's browser-mode client (renderer/src/api/console-api.ts); a call that
// needs longer (a drill) passes its own timeoutMs, which the bridge forwards.
const client = createClient(consoleContract, channel, { timeoutMs: 15_000, onError: report });
contextBridge.exposeInMainWorld(BRIDGE_KEY, createBridge(consoleContract, client, report));

function randomSessionId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
