import { describe, expect, it } from "vitest";
import { ArgvSyntaxError, joinArgv, splitArgv } from "./argv";

describe("splitArgv", () => {
  it("splits on runs of whitespace", () => {
    expect(splitArgv("  echo   hello\tberth \n")).toEqual(["echo", "hello", "berth"]);
  });

  it("returns no words for blank input", () => {
    expect(splitArgv("")).toEqual([]);
    expect(splitArgv("   \t ")).toEqual([]);
  });

  it("keeps single-quoted text literal", () => {
    expect(splitArgv(`sh -c 'echo "a  b" $HOME \\n'`)).toEqual([
      "sh",
      "-c",
      `echo "a  b" $HOME \\n`,
    ]);
  });

  it('honours escapes inside double quotes only for " \\ $ `', () => {
    expect(splitArgv(`printf "say \\"hi\\" \\$x \\n"`)).toEqual(["printf", `say "hi" $x \\n`]);
  });

  it("joins adjacent quoted and unquoted parts into one word", () => {
    expect(splitArgv(`--name="my app"'s'x`)).toEqual(["--name=my apps" + "x"]);
  });

  it("keeps empty quoted strings as empty arguments", () => {
    expect(splitArgv(`a "" '' b`)).toEqual(["a", "", "", "b"]);
  });

  it("escapes the next character with a backslash outside quotes", () => {
    expect(splitArgv(String.raw`echo a\ b \'c\'`)).toEqual(["echo", "a b", "'c'"]);
  });

  it("treats backslash-newline as a line continuation", () => {
    expect(splitArgv("echo one \\\n two")).toEqual(["echo", "one", "two"]);
  });

  it("rejects unterminated quotes and a trailing backslash with a clear error", () => {
    expect(() => splitArgv(`echo 'oops`)).toThrow(
      new ArgvSyntaxError("unterminated single quote at position 6"),
    );
    expect(() => splitArgv(`echo "oops`)).toThrow(/unterminated double quote at position 6/);
    expect(() => splitArgv(`echo \\`)).toThrow(/lone backslash/);
  });

  it("does not expand anything", () => {
    expect(splitArgv("echo $HOME *.txt ~ `id` $(id) a;b|c&&d")).toEqual([
      "echo",
      "$HOME",
      "*.txt",
      "~",
      "`id`",
      "$(id)",
      "a;b|c&&d",
    ]);
  });
});

describe("joinArgv", () => {
  it("quotes only words that need it and round-trips through splitArgv", () => {
    const argv = ["sh", "-c", "echo 'it''s' && exit 3", "", "plain-word"];
    const joined = joinArgv(argv);
    expect(joined).toBe(`sh -c 'echo '\\''it'\\'''\\''s'\\'' && exit 3' '' plain-word`);
    expect(splitArgv(joined)).toEqual(argv);
  });
});
