// Commands for a remote POSIX shell. An SSH exec request carries one string that the host's login shell parses, so
// every argument is quoted here and no caller ever builds a command line by concatenation (DESIGN.md: "no
// user-provided string is ever pasted into a shell command").
//
// Quoting stops the shell from reading an argument as syntax; it cannot stop the program from reading an
// argument that starts with '-' as an option. That is the caller's to validate (the xl name rules, say).

/** Characters that need no quoting in any POSIX shell, in any position. */
const PLAIN = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** One argument, quoted for a POSIX shell: left bare when it is plainly safe, else in single quotes. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot contain a NUL byte');
  if (arg !== '' && PLAIN.test(arg)) return arg;
  // Inside single quotes nothing is special but the quote itself, which is closed, escaped and reopened.
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** argv as one command line for a POSIX shell: each word quoted, joined by spaces. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command');
  return argv.map(shellQuote).join(' ');
}
