import { describe, expect, it } from "vitest";
import { DomainError } from "@berth/core";
import { DockerfileError, parseDockerfile, parseGoDuration, type Instruction } from "./dockerfile";

const parse = (text: string) => parseDockerfile(text);
const first = (text: string): Instruction =>
  parse(`FROM busybox\n${text}`).stages[0]!.instructions[0]!;

function errorOf(text: string, file?: string): DockerfileError {
  try {
    parseDockerfile(text, file === undefined ? {} : { file });
  } catch (e) {
    expect(e).toBeInstanceOf(DockerfileError);
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).kind).toBe("invalid_input");
    return e as DockerfileError;
  }
  throw new Error("expected a DockerfileError");
}

describe("parseDockerfile: structure", () => {
  it("parses a realistic multi-stage Dockerfile with line numbers", () => {
    const df = parse(`# syntax=docker/dockerfile:1
# A Go service
ARG GO_VERSION=1.22

FROM golang:\${GO_VERSION}-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build \\
      -o /out/app \\
      ./cmd/app

FROM scratch
COPY --from=build /out/app /app
EXPOSE 8080/tcp
USER 65534:65534
ENTRYPOINT ["/app"]
`);
    expect(df.syntax).toBe("docker/dockerfile:1");
    expect(df.escape).toBe("\\");
    expect(df.globalArgs).toHaveLength(1);
    expect(df.globalArgs[0]!.args).toEqual([{ name: "GO_VERSION", default: "1.22" }]);
    expect(df.stages).toHaveLength(2);
    const [build, final] = df.stages;
    expect(build!.from).toMatchObject({
      line: 5,
      image: "golang:${GO_VERSION}-alpine",
      stageName: "build",
    });
    expect(build!.instructions.map((i) => [i.keyword, i.line])).toEqual([
      ["WORKDIR", 6],
      ["COPY", 7],
      ["RUN", 8],
      ["COPY", 9],
      ["RUN", 10],
    ]);
    const run = build!.instructions[4]!;
    expect(run).toMatchObject({
      keyword: "RUN",
      line: 10,
      endLine: 12,
      command: {
        form: "shell",
        script: "CGO_ENABLED=0 go build       -o /out/app       ./cmd/app",
      },
    });
    expect(run.original).toBe("RUN CGO_ENABLED=0 go build       -o /out/app       ./cmd/app");
    expect(final!.from).toMatchObject({ line: 14, image: "scratch", stageName: undefined });
    expect(final!.instructions[0]).toMatchObject({
      keyword: "COPY",
      from: "build",
      sources: ["/out/app"],
      dest: "/app",
    });
    expect(final!.instructions[3]).toMatchObject({
      keyword: "ENTRYPOINT",
      command: { form: "exec", argv: ["/app"] },
    });
  });

  it("keywords are case-insensitive; stage names are lower-cased", () => {
    const df = parse("from alpine as Builder\nrun echo hi\nCoPy a b\n");
    expect(df.stages[0]!.from.stageName).toBe("builder");
    expect(df.stages[0]!.instructions.map((i) => i.keyword)).toEqual(["RUN", "COPY"]);
  });

  it("skips comments and blank lines, also inside continuations", () => {
    const df = parse(`FROM alpine
  # indented comment
RUN apk add \\
# a comment inside the continuation
    curl \\

    jq
`);
    const run = df.stages[0]!.instructions[0]!;
    expect(run).toMatchObject({
      line: 3,
      endLine: 7,
      command: { form: "shell", script: "apk add     curl     jq" },
    });
    expect(df.warnings).toEqual([
      "Dockerfile:3: empty continuation line (it will be an error in a future release)",
    ]);
  });

  it("a continuation with trailing whitespace after the backslash still continues", () => {
    const i = first("RUN echo a \\   \n    b\n");
    expect(i).toMatchObject({ command: { script: "echo a     b" } });
  });

  it("a continuation on the last line ends the instruction", () => {
    expect(first("RUN echo hi \\")).toMatchObject({ command: { script: "echo hi" } });
  });

  it("CRLF line endings and a BOM are accepted", () => {
    const df = parse("\uFEFFFROM alpine\r\nRUN echo \\\r\n  hi\r\n");
    expect(df.stages[0]!.instructions[0]).toMatchObject({ command: { script: "echo   hi" } });
  });

  it("# escape=` switches the escape character", () => {
    const df = parse(
      "# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir C:\\ `\n  /s\nCOPY C:\\a\\b `\n  c\n",
    );
    expect(df.escape).toBe("`");
    const [run, copy] = df.stages[0]!.instructions;
    expect(run).toMatchObject({ line: 3, command: { script: "dir C:\\   /s" } });
    expect(copy).toMatchObject({ sources: ["C:\\a\\b"], dest: "c" });
  });

  it("directives only count at the very top, and unknown ones end them", () => {
    expect(parse("\n# escape=`\nFROM a\n").escape).toBe("\\");
    expect(parse("# unknown=x\n# escape=`\nFROM a\n").escape).toBe("\\");
    expect(parse("#  ESCAPE = ` \nFROM a\n").escape).toBe("`");
    expect(parse("# syntax=docker/dockerfile:1.4\n# escape=`\nFROM a\n")).toMatchObject({
      escape: "`",
      syntax: "docker/dockerfile:1.4",
    });
    expect(errorOf("# escape=`\n# escape=\\\nFROM a").message).toBe(
      "Dockerfile:2: only one escape parser directive can be used",
    );
    expect(errorOf("# escape=x\nFROM a").message).toBe(
      "Dockerfile:1: invalid escape token 'x' does not match ` or \\",
    );
  });
});

describe("parseDockerfile: instructions", () => {
  it("FROM with --platform and AS", () => {
    const df = parse("FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n");
    expect(df.stages[0]!.from).toMatchObject({
      platform: "$BUILDPLATFORM",
      image: "golang:1.22",
      stageName: "build",
    });
  });

  it("ARG with and without defaults, several per line", () => {
    expect(first('ARG A\nARG B=1 C="x y"')).toMatchObject({
      args: [{ name: "A", default: undefined }],
    });
    const df = parse('FROM a\nARG B=1 C="x y" D=');
    expect(df.stages[0]!.instructions[0]).toMatchObject({
      args: [
        { name: "B", default: "1" },
        { name: "C", default: '"x y"' },
        { name: "D", default: "" },
      ],
    });
  });

  it("ENV: key=value pairs (quotes kept for expansion) and the legacy form", () => {
    expect(first('ENV A=1 B="two words" C=x\\ y')).toMatchObject({
      keyword: "ENV",
      pairs: [
        { key: "A", value: "1" },
        { key: "B", value: '"two words"' },
        { key: "C", value: "x\\ y" },
      ],
    });
    expect(first("ENV PATH /usr/local/bin:$PATH and more")).toMatchObject({
      pairs: [{ key: "PATH", value: "/usr/local/bin:$PATH and more" }],
    });
    expect(first('LABEL org.opencontainers.image.title="My app" version=1.0')).toMatchObject({
      keyword: "LABEL",
      pairs: [
        { key: "org.opencontainers.image.title", value: '"My app"' },
        { key: "version", value: "1.0" },
      ],
    });
  });

  it("WORKDIR, USER, STOPSIGNAL, MAINTAINER", () => {
    expect(first("WORKDIR /app")).toMatchObject({ keyword: "WORKDIR", value: "/app" });
    expect(first("WORKDIR /my dir")).toMatchObject({ keyword: "WORKDIR", value: "/my dir" });
    expect(first("USER nobody:nogroup")).toMatchObject({
      keyword: "USER",
      value: "nobody:nogroup",
    });
    expect(first("STOPSIGNAL SIGQUIT")).toMatchObject({ keyword: "STOPSIGNAL", value: "SIGQUIT" });
    expect(first("MAINTAINER Jane Doe <jane@example.com>")).toMatchObject({
      keyword: "MAINTAINER",
      value: "Jane Doe <jane@example.com>",
    });
  });

  it("COPY/ADD: flags, JSON form, several sources", () => {
    expect(first("COPY --chown=app:app --chmod=0755 --link a b c/ /dst/")).toMatchObject({
      keyword: "COPY",
      sources: ["a", "b", "c/"],
      dest: "/dst/",
      chown: "app:app",
      chmod: "0755",
      link: true,
      from: undefined,
    });
    expect(first('COPY ["file with space.txt", "/dst dir/"]')).toMatchObject({
      sources: ["file with space.txt"],
      dest: "/dst dir/",
    });
    expect(first("ADD --chown=1000 app.tar.gz /opt/")).toMatchObject({
      keyword: "ADD",
      chown: "1000",
    });
  });

  it("RUN: shell, exec and --network", () => {
    expect(first("RUN apt-get update && apt-get install -y curl")).toMatchObject({
      command: { form: "shell", script: "apt-get update && apt-get install -y curl" },
      network: "default",
    });
    expect(first('RUN ["/bin/bash", "-c", "echo $HOME"]')).toMatchObject({
      command: { form: "exec", argv: ["/bin/bash", "-c", "echo $HOME"] },
    });
    expect(first("RUN --network=none make")).toMatchObject({ network: "none" });
    expect(first("RUN --network=host make")).toMatchObject({ network: "host" });
  });

  it("exec forms that are not valid JSON fall back to the shell form, verbatim (like Docker)", () => {
    expect(first("CMD ['nginx', '-g', 'daemon off;']")).toMatchObject({
      command: { form: "shell", script: "['nginx', '-g', 'daemon off;']" },
    });
    expect(first('ENTRYPOINT ["a", "b"] extra')).toMatchObject({
      command: { form: "shell", script: '["a", "b"] extra' },
    });
    expect(first("RUN [ -f /etc/os-release ] && cat /etc/os-release")).toMatchObject({
      command: { form: "shell" },
    });
    // COPY falls back to whitespace-separated words
    expect(first("COPY ['a', 'b']")).toMatchObject({ sources: ["['a',"], dest: "'b']" });
    // an array of non-strings is an error, not a fall-back
    expect(errorOf("FROM a\nCMD [1, 2]").message).toBe(
      "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only",
    );
  });

  it("CMD/ENTRYPOINT, empty exec form allowed", () => {
    expect(first("CMD []")).toMatchObject({ keyword: "CMD", command: { form: "exec", argv: [] } });
    expect(first("ENTRYPOINT exec nginx")).toMatchObject({
      command: { form: "shell", script: "exec nginx" },
    });
  });

  it("EXPOSE and VOLUME words", () => {
    expect(first("EXPOSE 80 443/tcp 53/udp")).toMatchObject({ items: ["80", "443/tcp", "53/udp"] });
    expect(first('VOLUME ["/data", "/logs"]')).toMatchObject({ items: ["/data", "/logs"] });
    expect(first("VOLUME /data /logs")).toMatchObject({ items: ["/data", "/logs"] });
  });

  it("SHELL takes JSON only", () => {
    expect(first('SHELL ["/bin/bash", "-o", "pipefail", "-c"]')).toMatchObject({
      argv: ["/bin/bash", "-o", "pipefail", "-c"],
    });
    expect(errorOf("FROM a\nSHELL /bin/bash -c").message).toBe(
      "Dockerfile:2: SHELL requires the arguments to be in JSON form",
    );
  });

  it("HEALTHCHECK NONE and CMD with options", () => {
    expect(first("HEALTHCHECK NONE")).toMatchObject({ command: undefined });
    expect(
      first(
        "HEALTHCHECK --interval=30s --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1",
      ),
    ).toMatchObject({
      command: { form: "shell", script: "curl -f http://localhost/ || exit 1" },
      intervalNs: 30e9,
      timeoutNs: 3e9,
      startPeriodNs: 90e9,
      startIntervalNs: 5e8,
      retries: 3,
    });
    expect(first('HEALTHCHECK CMD ["/bin/check", "--quick"]')).toMatchObject({
      command: { form: "exec", argv: ["/bin/check", "--quick"] },
    });
  });

  it("parses Go durations", () => {
    expect(parseGoDuration("1h2m3.5s")).toBe(3723.5e9);
    expect(parseGoDuration("250us")).toBe(250e3);
    expect(parseGoDuration("0")).toBe(0);
    expect(parseGoDuration("10")).toBeUndefined();
    expect(parseGoDuration("s")).toBeUndefined();
  });
});

describe("parseDockerfile: errors name the line", () => {
  it.each([
    [
      "FROM alpine\nRUN true\n\n\n\n\nRUNN echo",
      "Dockerfile:7: unknown instruction: RUNN (did you mean RUN?)",
    ],
    ["FROM alpine\nBOGUS bar", "Dockerfile:2: unknown instruction: BOGUS"],
    ["FROM alpine\nFOO bar", "Dockerfile:2: unknown instruction: FOO (did you mean FROM?)"],
    ["# c\n\nFROM alpine AS", "Dockerfile:3: FROM requires either one or three arguments"],
    ["FROM alpine AS a b", "Dockerfile:1: FROM requires either one or three arguments"],
    ["FROM alpine FOR x", "Dockerfile:1: FROM requires either one or three arguments"],
    ["FROM", "Dockerfile:1: FROM requires either one or three arguments"],
    [
      "FROM a AS 1st",
      'Dockerfile:1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
    ],
    ["FROM a AS x\nFROM b AS X", 'Dockerfile:2: duplicate stage name "x"'],
    [
      "RUN echo hi\nFROM alpine",
      "Dockerfile:1: RUN: no build stage in current context (a Dockerfile must begin with FROM; only ARG may come before it)",
    ],
    [
      "ARG A=1\n# only args\n",
      "Dockerfile: no build stage: the Dockerfile has no FROM instruction",
    ],
    ["# nothing\n\n", "Dockerfile: the Dockerfile is empty: it has no instructions"],
    ["FROM a\nCOPY --frm=x a b", "Dockerfile:2: unknown flag: frm"],
    ["FROM a\nWORKDIR --x=1 /a", "Dockerfile:2: unknown flag: x"],
    ["FROM a\nCOPY --chown=a --chown=b x y", "Dockerfile:2: duplicate flag specified: chown"],
    ["FROM a\nCOPY --from a b", "Dockerfile:2: missing a value on flag: from"],
    [
      "FROM a\nCOPY --link=maybe a b",
      "Dockerfile:2: expecting boolean value for flag link, not: maybe",
    ],
    [
      "FROM a\nCOPY --chmod=u+x a b",
      "Dockerfile:2: invalid --chmod=u+x: only octal modes like 755 or 0644 are supported",
    ],
    ["FROM a\nCOPY onlyone", "Dockerfile:2: COPY requires at least two arguments, but got 1"],
    ["FROM a\nRUN", "Dockerfile:2: RUN requires at least one argument"],
    ["FROM a\nRUN []", "Dockerfile:2: RUN requires at least one argument"],
    [
      "FROM a\nRUN --network=bridge x",
      'Dockerfile:2: network mode "bridge" not supported: use none, host or default',
    ],
    ["FROM a\nRUN --mount=type=cache,target=/x make", "Dockerfile:2: RUN --mount is not supported"],
    ["FROM a\n\nRUN <<EOF\necho hi\nEOF", "Dockerfile:3: heredocs are not supported (RUN <<EOF)"],
    ['FROM a\nCOPY <<-"EOT" /x', 'Dockerfile:2: heredocs are not supported (COPY <<-"EOT" /x)'],
    ["FROM a\nONBUILD RUN make", "Dockerfile:2: ONBUILD is not supported"],
    ["FROM a\nENV", "Dockerfile:2: ENV requires at least one argument"],
    ["FROM a\nENV ONLYKEY", "Dockerfile:2: ENV must have two arguments"],
    [
      "FROM a\nENV A=1 B",
      'Dockerfile:2: Syntax error - can\'t find = in "B". Must be of the form: name=value',
    ],
    ["FROM a\nLABEL =x", "Dockerfile:2: LABEL names can not be blank"],
    ["FROM a\nARG 1A=2", 'Dockerfile:2: invalid ARG name: "1A"'],
    ["FROM a\nHEALTHCHECK NONE --x", "Dockerfile:2: HEALTHCHECK NONE takes no arguments"],
    ["FROM a\nHEALTHCHECK --interval=5s NONE", "Dockerfile:2: HEALTHCHECK NONE takes no arguments"],
    ["FROM a\nHEALTHCHECK CURL x", 'Dockerfile:2: unknown type "CURL" in HEALTHCHECK (try CMD)'],
    [
      "FROM a\nHEALTHCHECK --interval=5 CMD x",
      'Dockerfile:2: invalid duration for --interval: "5"',
    ],
    ["FROM a\nHEALTHCHECK --timeout=1us CMD x", "Dockerfile:2: --timeout cannot be less than 1ms"],
    ["FROM a\nHEALTHCHECK --retries=-1 CMD x", "Dockerfile:2: --retries cannot be negative"],
    ['FROM a\nVOLUME [""]', "Dockerfile:2: VOLUME specified can not be an empty string"],
    ["FROM a\nSHELL []", "Dockerfile:2: SHELL requires at least one argument"],
  ])("%j", (text, message) => {
    expect(errorOf(text).message).toBe(message);
  });

  it("the line of a continued instruction is its first line", () => {
    const e = errorOf("FROM a\nCOPY --bogus \\\n  a \\\n  b");
    expect(e.line).toBe(2);
    expect(e.details).toEqual({ file: "Dockerfile", line: 2 });
  });

  it("errors use the -f file name", () => {
    expect(errorOf("FROM a\nRUNN x", "docker/Dockerfile.prod").message).toBe(
      "docker/Dockerfile.prod:2: unknown instruction: RUNN (did you mean RUN?)",
    );
  });

  it("shell forms keep `<<` that is not a heredoc", () => {
    expect(first("RUN echo $((1 << 2))")).toMatchObject({ command: { form: "shell" } });
    expect(first('RUN ["sh", "-c", "cat <<EOF"]')).toMatchObject({ command: { form: "exec" } });
  });
});

describe("heredoc detection", () => {
  it("quoted << is not a heredoc", () => {
    expect(first("RUN echo \"a<<b\" 'c<<d'")).toMatchObject({ command: { form: "shell" } });
    expect(() => parse("FROM a\nRUN cat <<EOF > /x\n")).toThrow(
      "Dockerfile:2: heredocs are not supported",
    );
  });
});
