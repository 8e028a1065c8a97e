/**
 * Dockerfile variable substitution and word splitting, as BuildKit's `shell.Lex` does it
 * (frontend/dockerfile/shell/lex.go) for the subset Docker documents:
 *   `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`,
 *   `${VAR:?msg}`, `${VAR?msg}`, single and double quotes, and the escape character
 *   (`\` or the backtick chosen by `# escape=`).
 * Quotes are removed, `\$` yields a literal `$`, an unset variable expands to "". A `$` not
 * followed by a name is kept literally. Errors are plain `ShellLexError`s; the parser turns
 * them into DockerfileErrors carrying the line number.
 */

export class ShellLexError extends Error {}

/** Looks a variable up; `undefined` means unset (distinct from set to ""). */
export type VarLookup = (name: string) => string | undefined;

class Scanner {
  pos = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos] : undefined;
  }
  next(): string | undefined {
    return this.pos < this.s.length ? this.s[this.pos++] : undefined;
  }
}

const isNameChar = (c: string) => /^[A-Za-z0-9_]$/.test(c);
const isSpace = (c: string) => /^\s$/.test(c);

class Lexer {
  private sc: Scanner;
  /** Whether the current output word has seen quotes (so "" still counts as a word). */
  constructor(
    input: string,
    private readonly lookup: VarLookup,
    private readonly escape: string,
  ) {
    this.sc = new Scanner(input);
  }

  /**
   * Processes until `stop` (consumed) or the end. Returns the text and whether `stop` was
   * found. With `split`, unquoted whitespace separates words (ProcessWords).
   */
  processStopOn(stop: string | undefined, split: false): { text: string; found: boolean };
  processStopOn(stop: string | undefined, split: true): { words: string[]; found: boolean };
  processStopOn(
    stop: string | undefined,
    split: boolean,
  ): { text: string; found: boolean } | { words: string[]; found: boolean } {
    let text = "";
    const words: string[] = [];
    let inWord = false;
    const flush = () => {
      if (inWord) words.push(text);
      text = "";
      inWord = false;
    };
    let found = false;
    for (;;) {
      const ch = this.sc.peek();
      if (ch === undefined) break;
      if (stop !== undefined && ch === stop) {
        this.sc.next();
        found = true;
        break;
      }
      if (split && isSpace(ch)) {
        this.sc.next();
        flush();
        continue;
      }
      if (ch === "'") {
        this.sc.next();
        text += this.singleQuoted();
        inWord = true;
        continue;
      }
      if (ch === '"') {
        this.sc.next();
        text += this.doubleQuoted();
        inWord = true;
        continue;
      }
      if (ch === "$") {
        this.sc.next();
        const v = this.dollar();
        if (split && !v.literal) {
          // Unquoted expansion results are themselves split on whitespace, as in a shell.
          const parts = v.text.split(/\s+/);
          for (let i = 0; i < parts.length; i++) {
            if (i > 0) flush();
            if (parts[i] !== "") {
              text += parts[i];
              inWord = true;
            }
          }
        } else {
          text += v.text;
          if (v.text !== "") inWord = true;
        }
        continue;
      }
      this.sc.next();
      if (ch === this.escape) {
        const n = this.sc.next();
        if (n === undefined) break; // an escape at the very end is dropped
        text += n;
        inWord = true;
        continue;
      }
      text += ch;
      inWord = true;
    }
    if (split) {
      flush();
      return { words, found };
    }
    return { text, found };
  }

  private singleQuoted(): string {
    let out = "";
    for (;;) {
      const ch = this.sc.next();
      if (ch === undefined)
        throw new ShellLexError(
          "unexpected end of statement while looking for matching single-quote",
        );
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    let out = "";
    for (;;) {
      const ch = this.sc.peek();
      if (ch === undefined)
        throw new ShellLexError(
          "unexpected end of statement while looking for matching double-quote",
        );
      if (ch === '"') {
        this.sc.next();
        return out;
      }
      if (ch === "$") {
        this.sc.next();
        out += this.dollar().text;
        continue;
      }
      this.sc.next();
      if (ch === this.escape) {
        const n = this.sc.peek();
        if (n === undefined) continue;
        // Only ", $ and the escape itself can be escaped inside double quotes.
        if (n === '"' || n === "$" || n === this.escape) {
          out += this.sc.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = "";
    const first = this.sc.peek();
    if (first !== undefined && /^[0-9]$/.test(first)) {
      while (this.sc.peek() !== undefined && /^[0-9]$/.test(this.sc.peek()!))
        name += this.sc.next();
      return name;
    }
    while (this.sc.peek() !== undefined && isNameChar(this.sc.peek()!)) name += this.sc.next();
    return name;
  }

  /** After a `$`. `literal` is true when the `$` was kept as is. */
  private dollar(): { text: string; literal: boolean } {
    if (this.sc.peek() !== "{") {
      const name = this.name();
      if (name === "") return { text: "$", literal: true };
      return { text: this.lookup(name) ?? "", literal: false };
    }
    this.sc.next(); // {
    const name = this.name();
    if (name === "") throw new ShellLexError("bad substitution: missing variable name after '${'");
    const ch = this.sc.next();
    if (ch === undefined) throw new ShellLexError("syntax error: missing '}'");
    if (ch === "}") return { text: this.lookup(name) ?? "", literal: false };
    let colon = false;
    let op = ch;
    if (ch === ":") {
      colon = true;
      const n = this.sc.next();
      if (n === undefined) throw new ShellLexError("syntax error: missing '}'");
      op = n;
    }
    if (op !== "-" && op !== "+" && op !== "?") {
      throw new ShellLexError(`unsupported modifier (${colon ? ":" : ""}${op}) in substitution`);
    }
    const { text: word, found } = this.processStopOn("}", false);
    if (!found) throw new ShellLexError("syntax error: missing '}'");
    const value = this.lookup(name);
    const unsetOrEmpty = value === undefined || (colon && value === "");
    switch (op) {
      case "-":
        return { text: unsetOrEmpty ? word : value!, literal: false };
      case "+":
        return { text: unsetOrEmpty ? "" : word, literal: false };
      default: {
        if (unsetOrEmpty)
          throw new ShellLexError(`${name}: ${word !== "" ? word : "is not allowed to be unset"}`);
        return { text: value!, literal: false };
      }
    }
  }
}

/** Expands one word (quotes removed, whitespace kept), like BuildKit's ProcessWord. */
export function expandWord(word: string, lookup: VarLookup, escape = "\\"): string {
  return new Lexer(word, lookup, escape).processStopOn(undefined, false).text;
}

/** Expands and splits on unquoted whitespace, like BuildKit's ProcessWords. */
export function expandWords(input: string, lookup: VarLookup, escape = "\\"): string[] {
  return new Lexer(input, lookup, escape).processStopOn(undefined, true).words;
}

/**
 * Splits a line into words on whitespace, honouring quotes and the escape character but
 * KEEPING them (BuildKit's parser.parseWords): the words are expanded later.
 */
export function splitWordsKeepQuotes(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = "";
  let blankOK = false;
  let phase: "spaces" | "word" | "quote" = "spaces";
  let quote = "";
  const chars = Array.from(rest);
  for (let i = 0; i <= chars.length; i++) {
    const end = i === chars.length;
    let ch = end ? "" : chars[i]!;
    if (phase === "spaces") {
      if (end) break;
      if (isSpace(ch)) continue;
      phase = "word";
    }
    if (end) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === "word") {
      if (isSpace(ch)) {
        phase = "spaces";
        if (blankOK || word.length > 0) words.push(word);
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = "quote";
      }
      if (ch === escape) {
        if (i + 1 === chars.length) continue;
        word += ch;
        i++;
        ch = chars[i]!;
      }
      word += ch;
      continue;
    }
    // in quote
    if (ch === quote) phase = "word";
    if (ch === escape && quote !== "'") {
      if (i + 1 === chars.length) {
        phase = "word";
        continue;
      }
      word += ch;
      i++;
      ch = chars[i]!;
    }
    word += ch;
  }
  return words;
}
