// Text from outside (a stream's domain name, a hypervisor's message) printed to a terminal must not be able to
// drive it: ESC sequences retitle or clear it, CR rewrites the line, LF forges a line of our own. Every control
// character is shown as an escape instead, and a backslash as \\, so the escaped text reads back unambiguously.

const NAMED: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

// C0, DEL, C1; the Unicode line and paragraph separators; the bidirectional overrides and isolates, which
// reorder what a reader sees ("Trojan source").
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character escaped: \n \r \t by name, other C0 and DEL as \xNN, the rest as \uNNNN. */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const named = NAMED[c];
    if (named !== undefined) return named;
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// JSON.stringify escapes C0 but leaves DEL, C1 and the rest as they are; outside strings it never emits them.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One JSON line that is as safe on a terminal as escaped text, and parses back to the same value. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
