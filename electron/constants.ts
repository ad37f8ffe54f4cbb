// Names the Electron shell shares between its main process, its preload and its tests. Nothing here touches
// Electron or Node, so the preload bundle, the unit tests and the launcher can all import it.

export const PRODUCT_NAME = 'COLO Console';

/** The custom scheme the renderer is served from (Electron security checklist item 18: no file://). */
export const APP_SCHEME = 'app';
export const APP_HOST = 'colo-console';
/** Written out rather than taken from URL#origin: for a scheme Node does not know, that is the string 'null'. */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** The pages' Content-Security-Policy: the same as browser mode's. */
export { CONTENT_SECURITY_POLICY } from '../core/api/content-policy.js';

/**
 * The two IPC channels. 'hello' starts a page session (sent once by the preload of each page load); 'rpc' carries
 * core/api's RPC messages in both directions, each wrapped as { session, msg }.
 */
export const IPC_HELLO = 'colo-console:hello';
export const IPC_RPC = 'colo-console:rpc';

/** A page session id: 128 random bits in hex, made by the preload. */
export const SESSION_ID = /^[0-9a-f]{32}$/;
