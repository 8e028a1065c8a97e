/**
 * Splits a command line typed in the dashboard into an argv array the way a POSIX shell would
 * tokenise it, without any expansion: whitespace separates words, '…' is literal, "…" honours
 * backslash escapes of " \ $ ` and a backslash outside quotes escapes the next character.
 * The result is handed to the container as-is: no shell ever sees it.
 */
export class ArgvSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ArgvSyntaxError";
  }
}

const DOUBLE_QUOTE_ESCAPABLE = new Set(['"', "\\", "$", "`"]);

export function splitArgv(input: string): string[] {
  const args: string[] = [];
  let current = "";
  /** True once the current word exists, even if empty (`""` is an empty argument). */
  let inWord = false;
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      if (inWord) {
        args.push(current);
        current = "";
        inWord = false;
      }
      i++;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = input.indexOf("'", i + 1);
      if (end === -1) throw new ArgvSyntaxError(`unterminated single quote at position ${i + 1}`);
      current += input.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (ch === '"') {
      const start = i;
      i++;
      for (;;) {
        if (i >= input.length)
          throw new ArgvSyntaxError(`unterminated double quote at position ${start + 1}`);
        const c = input[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === "\\" && i + 1 < input.length && DOUBLE_QUOTE_ESCAPABLE.has(input[i + 1]!)) {
          current += input[i + 1];
          i += 2;
          continue;
        }
        current += c;
        i++;
      }
      continue;
    }
    if (ch === "\\") {
      if (i + 1 >= input.length)
        throw new ArgvSyntaxError("the command ends with a lone backslash");
      const next = input[i + 1]!;
      // A backslash-newline is a line continuation, as in a shell.
      if (next !== "\n") current += next;
      else if (current === "") inWord = false;
      i += 2;
      continue;
    }
    current += ch;
    i++;
  }
  if (inWord) args.push(current);
  return args;
}

/** The inverse, for display: quotes only the words that need it. */
export function joinArgv(argv: readonly string[]): string {
  return argv
    .map((a) =>
      a === "" ? "''" : /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`,
    )
    .join(" ");
}
