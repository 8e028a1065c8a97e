import { describe, expect, it } from "vitest";
import { DockerfileError, parseDockerfile } from "./dockerfile";
import { evaluateStage, planBuild, type PlanOptions, type Step } from "./stages";

const plan = (text: string, opts: PlanOptions = {}) => planBuild(parseDockerfile(text), opts);

function steps(text: string, opts: PlanOptions = {}, base = {}): Step[] {
  const p = plan(text, opts);
  return evaluateStage(p, p.target, base).steps;
}

function errorOf(fn: () => unknown): DockerfileError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DockerfileError);
    return e as DockerfileError;
  }
  throw new Error("expected a DockerfileError");
}

describe("planBuild: stage graph", () => {
  const multi = `ARG BASE=alpine:3.19
FROM \${BASE} AS base
RUN apk add --no-cache ca-certificates

FROM golang:1.22 AS build
COPY . /src
RUN go build -o /out/app ./...

FROM base AS docs
RUN echo unused

FROM node:20 AS assets
RUN npm ci

FROM base AS final
COPY --from=build /out/app /usr/local/bin/app
COPY --from=assets /app/dist /srv
COPY --from=nginx:1.25 /etc/nginx/mime.types /etc/
`;

  it("names stages, resolves bases and keeps only what the target needs, deps first", () => {
    const p = plan(multi);
    expect(p.stages.map((s) => [s.index, s.name, s.base])).toEqual([
      [0, "base", { type: "image", ref: "alpine:3.19" }],
      [1, "build", { type: "image", ref: "golang:1.22" }],
      [2, "docs", { type: "stage", index: 0 }],
      [3, "assets", { type: "image", ref: "node:20" }],
      [4, "final", { type: "stage", index: 0 }],
    ]);
    expect(p.stages[4]!.dependsOn).toEqual([0, 1, 3]);
    expect(p.stages[4]!.copyFromImages).toEqual(["nginx:1.25"]);
    expect(p.target).toBe(4);
    expect(p.order).toEqual([0, 1, 3, 4]); // "docs" is skipped
  });

  it("--target picks a stage (case-insensitive) and builds only its chain", () => {
    expect(plan(multi, { target: "DOCS" }).order).toEqual([0, 2]);
    expect(plan(multi, { target: "build" }).order).toEqual([1]);
  });

  it("an unknown --target is a clear error", () => {
    expect(errorOf(() => plan(multi, { target: "prod" })).message).toBe(
      'Dockerfile: target stage "prod" could not be found (stages: base, build, docs, assets, final)',
    );
  });

  it("global ARGs (and build args) are expanded in FROM, only there", () => {
    const p = plan("ARG TAG=3.18\nARG IMG=alpine:${TAG}\nFROM $IMG\nRUN echo $TAG\n", {
      buildArgs: { TAG: "3.20" },
    });
    expect(p.stages[0]!.base).toEqual({ type: "image", ref: "alpine:3.20" });
    expect(p.globalArgs.get("IMG")).toBe("alpine:3.20");
  });

  it("automatic platform args are usable in FROM without an ARG", () => {
    const p = plan("FROM --platform=$BUILDPLATFORM busybox:$TARGETARCH\n");
    expect(p.stages[0]!.platform).toBe("linux/amd64");
    expect(p.stages[0]!.base).toEqual({ type: "image", ref: "busybox:amd64" });
  });

  it("FROM with a blank base is an error", () => {
    expect(errorOf(() => plan("ARG X\nFROM $X\n")).message).toBe(
      "Dockerfile:2: base name ($X) should not be blank",
    );
  });

  it("COPY --from by index, by name, by image; unknown names are errors", () => {
    const p = plan("FROM a AS one\nFROM b\nCOPY --from=0 /x /x\nCOPY --from=ONE /y /y\n");
    expect(p.stages[1]!.dependsOn).toEqual([0]);
    expect(errorOf(() => plan("FROM a\nCOPY --from=missing /x /x")).message).toBe(
      'Dockerfile:2: COPY --from=missing: build stage "missing" not found; to copy from an image, give its reference with a tag, e.g. missing:latest',
    );
    expect(errorOf(() => plan("FROM a AS x\nFROM b\n\nCOPY --from=y /x /x")).message).toMatch(
      /^Dockerfile:4: COPY --from=y: build stage "y" not found \(earlier stages: x\)/,
    );
    expect(errorOf(() => plan("FROM a\nCOPY --from=0 /x /x")).message).toBe(
      "Dockerfile:2: COPY --from=0: it refers to the current or a later build stage (this is stage 0)",
    );
    // a stage defined later is not visible
    expect(errorOf(() => plan("FROM a\nCOPY --from=later /x /x\nFROM b AS later")).message).toMatch(
      /build stage "later" not found/,
    );
  });

  it("COPY --from may use the stage's ARGs", () => {
    const p = plan("FROM a AS v1\nFROM a AS v2\nFROM b\nARG SRC=v1\nCOPY --from=$SRC /x /x\n", {
      buildArgs: { SRC: "v2" },
    });
    expect(p.stages[2]!.dependsOn).toEqual([1]);
    expect(p.order).toEqual([1, 2]);
  });

  it("reports build args no built stage declares (proxy args aside)", () => {
    const p = plan("ARG G\nFROM a AS x\nARG ONLY_IN_X\nFROM b\nARG USED\n", {
      buildArgs: { G: "1", USED: "1", ONLY_IN_X: "1", NOPE: "1", HTTP_PROXY: "http://p" },
    });
    expect(p.unusedBuildArgs).toEqual(["NOPE", "ONLY_IN_X"]);
    expect(p.warnings).toContain("one or more build args were not consumed: NOPE, ONLY_IN_X");
  });
});

describe("evaluateStage: substitution", () => {
  it("ENV, LABEL, WORKDIR, USER, COPY, EXPOSE, STOPSIGNAL, VOLUME are expanded; RUN/CMD are not", () => {
    const s = steps(
      `FROM alpine
ARG VERSION=1.0
ENV APP=/opt/app PORT=8080 NAME="my app"
ENV LEGACY value with spaces
LABEL version=$VERSION name="\${NAME}"
WORKDIR $APP
WORKDIR sub
USER \${USER_ID:-1000}
COPY --chown=\${USER_ID:-1000} files/$VERSION/* ./
EXPOSE $PORT 9000-9002/udp
STOPSIGNAL \${SIG:-SIGTERM}
VOLUME ["$APP/data"]
RUN echo $APP
CMD echo $PORT
`,
      {},
      { env: ["PATH=/usr/bin"] },
    );
    const by = (k: string) => s.filter((x) => x.keyword === k);
    expect(by("ENV")[0]).toMatchObject({
      pairs: [
        { key: "APP", value: "/opt/app" },
        { key: "PORT", value: "8080" },
        { key: "NAME", value: "my app" },
      ],
    });
    expect(by("ENV")[1]).toMatchObject({ pairs: [{ key: "LEGACY", value: "value with spaces" }] });
    expect(by("LABEL")[0]).toMatchObject({
      pairs: [
        { key: "version", value: "1.0" },
        { key: "name", value: "my app" },
      ],
    });
    expect(by("WORKDIR").map((x) => (x as { path: string }).path)).toEqual([
      "/opt/app",
      "/opt/app/sub",
    ]);
    expect(by("USER")[0]).toMatchObject({ user: "1000" });
    expect(by("COPY")[0]).toMatchObject({
      from: { type: "context" },
      sources: ["files/1.0/*"],
      dest: "/opt/app/sub/",
      destIsDir: true,
      chown: "1000",
    });
    expect(by("EXPOSE")[0]).toMatchObject({
      ports: ["8080/tcp", "9000/udp", "9001/udp", "9002/udp"],
    });
    expect(by("STOPSIGNAL")[0]).toMatchObject({ signal: "SIGTERM" });
    expect(by("VOLUME")[0]).toMatchObject({ paths: ["/opt/app/data"] });
    expect(by("RUN")[0]).toMatchObject({
      argv: ["/bin/sh", "-c", "echo $APP"],
      shellForm: true,
      network: "default",
    });
    expect((by("RUN")[0] as { env: string[] }).env).toEqual([
      "VERSION=1.0",
      "PATH=/usr/bin",
      "APP=/opt/app",
      "PORT=8080",
      "NAME=my app",
      "LEGACY=value with spaces",
    ]);
    expect(by("CMD")[0]).toMatchObject({ argv: ["/bin/sh", "-c", "echo $PORT"] });
  });

  it("one ENV line sees the values from before it (Docker's rule)", () => {
    const s = steps("FROM a\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n");
    expect(s[1]).toMatchObject({
      pairs: [
        { key: "abc", value: "bye" },
        { key: "def", value: "hello" },
      ],
    });
    expect(s[2]).toMatchObject({ pairs: [{ key: "ghi", value: "bye" }] });
  });

  it("ENV wins over ARG; base image ENV is visible", () => {
    const s = steps(
      "FROM golang\nARG GOPATH=/arg\nWORKDIR $GOPATH/src\nENV GOPATH=/env\nWORKDIR $GOPATH\n",
      {},
      {
        env: ["GOPATH=/go"],
      },
    );
    expect(
      s.filter((x) => x.keyword === "WORKDIR").map((x) => (x as { path: string }).path),
    ).toEqual(["/go/src", "/env"]);
  });

  it("ARG scoping: global ARG needs re-declaring in a stage; build args override defaults", () => {
    const text =
      "ARG V=global\nFROM a\nRUN echo 1\nARG V\nARG W=$V-w\nARG U\nLABEL v=$V w=$W u=$U\n";
    const s = steps(text);
    expect(s.find((x) => x.keyword === "LABEL")).toMatchObject({
      pairs: [
        { key: "v", value: "global" },
        { key: "w", value: "global-w" },
        { key: "u", value: "" },
      ],
    });
    // before the stage's ARG V, V is not visible to the RUN
    expect(s[0]).toMatchObject({ keyword: "RUN", vars: [] });
    const s2 = steps(text, { buildArgs: { V: "cli", U: "u" } });
    expect(s2.find((x) => x.keyword === "LABEL")).toMatchObject({
      pairs: [
        { key: "v", value: "cli" },
        { key: "w", value: "cli-w" },
        { key: "u", value: "u" },
      ],
    });
  });

  it("undeclared build args are not visible; proxy args reach RUN's env but not vars", () => {
    const s = steps("FROM a\nRUN env\n", {
      buildArgs: { SECRET: "x", http_proxy: "http://proxy:3128" },
    });
    expect(s[0]).toMatchObject({ env: ["http_proxy=http://proxy:3128"], vars: [] });
  });

  it("an ARG TARGETARCH inside a stage gets the automatic value", () => {
    const s = steps("FROM a\nARG TARGETARCH\nLABEL arch=$TARGETARCH\n");
    expect(s[1]).toMatchObject({ pairs: [{ key: "arch", value: "amd64" }] });
  });

  it("SHELL changes how later shell forms run; exec forms are untouched", () => {
    const s = steps(
      'FROM a\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl x | sh\nRUN ["echo", "$HOME"]\nHEALTHCHECK CMD curl -f localhost\nENTRYPOINT ["/init"]\n',
    );
    expect(s[1]).toMatchObject({ argv: ["/bin/bash", "-o", "pipefail", "-c", "curl x | sh"] });
    expect(s[2]).toMatchObject({ argv: ["echo", "$HOME"], shellForm: false });
    expect(s[3]).toMatchObject({ test: ["CMD-SHELL", "curl -f localhost"] });
    expect(s[4]).toMatchObject({ argv: ["/init"] });
    const ev = evaluateStage(
      plan('FROM a\nSHELL ["/bin/ash", "-c"]\nENV A=1\nWORKDIR /w\nUSER u\n'),
      0,
    );
    expect(ev.final).toEqual({
      env: ["A=1"],
      workingDir: "/w",
      user: "u",
      shell: ["/bin/ash", "-c"],
    });
  });

  it("COPY destinations resolve against WORKDIR; several sources need a directory", () => {
    const s = steps("FROM a\nWORKDIR /app\nCOPY a .\nCOPY b c\nCOPY d ../e/\nCOPY x y /z/\n");
    expect(
      s
        .slice(1)
        .map((x) => [(x as { dest: string }).dest, (x as { destIsDir: boolean }).destIsDir]),
    ).toEqual([
      ["/app/", true],
      ["/app/c", false],
      ["/e/", true],
      ["/z/", true],
    ]);
    expect(errorOf(() => steps("FROM a\nCOPY x y /z")).message).toBe(
      "Dockerfile:2: When using COPY with more than one source file, the destination must be a directory and end with a /",
    );
  });

  it("context sources must stay inside the context; stage sources may be absolute", () => {
    expect(errorOf(() => steps("FROM a\nCOPY /etc/passwd /x")).message).toBe(
      "Dockerfile:2: COPY source must be a path relative to the build context, not absolute: /etc/passwd",
    );
    expect(errorOf(() => steps("FROM a\nADD a/../../secret /x")).message).toBe(
      "Dockerfile:2: forbidden path outside the build context: a/../../secret",
    );
    expect(errorOf(() => steps("FROM a\nADD https://example.com/x.tgz /x")).message).toBe(
      "Dockerfile:2: ADD from a URL or git repository is not supported: https://example.com/x.tgz",
    );
    const s = steps("FROM a AS b\nFROM c\nCOPY --from=b --chmod=755 /usr/bin/tool /bin/\n");
    expect(s[0]).toMatchObject({
      from: { type: "stage", index: 0 },
      sources: ["/usr/bin/tool"],
      chmod: 0o755,
    });
  });

  it("bad ports and signals are errors with the line", () => {
    expect(errorOf(() => steps("FROM a\nEXPOSE 8080:80")).message).toBe(
      "Dockerfile:2: EXPOSE takes container ports only, not IP addresses or host ports: 8080:80",
    );
    expect(errorOf(() => steps("FROM a\nEXPOSE 80/icmp")).message).toBe(
      "Dockerfile:2: invalid proto: icmp",
    );
    expect(errorOf(() => steps("FROM a\nEXPOSE 70000")).message).toBe(
      "Dockerfile:2: invalid containerPort: 70000",
    );
    expect(errorOf(() => steps("FROM a\nEXPOSE 90-80")).message).toBe(
      "Dockerfile:2: invalid range specified for port: 90-80",
    );
    expect(errorOf(() => steps("FROM a\nSTOPSIGNAL SIGFOO")).message).toBe(
      "Dockerfile:2: invalid signal: SIGFOO",
    );
    for (const ok of ["9", "KILL", "sigterm", "SIGRTMIN+3"])
      expect(steps(`FROM a\nSTOPSIGNAL ${ok}`)[0]).toMatchObject({ signal: ok });
  });

  it("substitution syntax errors name the line", () => {
    expect(errorOf(() => steps("FROM a\n\nENV A=${B")).message).toBe(
      "Dockerfile:3: syntax error: missing '}'",
    );
    expect(errorOf(() => steps("FROM a\nWORKDIR ${DIR:?set DIR}")).message).toBe(
      "Dockerfile:2: DIR: set DIR",
    );
  });

  it("steps carry normalized text and the visible vars", () => {
    const s = steps(
      "FROM a\nARG B=2\nENV A=1\nRUN --network=none  make   all\nCOPY --chmod=644 x /y\n",
    );
    expect(s.map((x) => x.text)).toEqual([
      "ARG B=2",
      'ENV A="1"',
      'RUN --network=none ["/bin/sh","-c","make   all"]',
      'COPY --chmod=0644 ["x"] /y',
    ]);
    expect(s[2]!.vars).toEqual([
      ["A", "1"],
      ["B", "2"],
    ]);
    expect(s[2]!.original).toBe("RUN --network=none  make   all");
  });

  it("MAINTAINER becomes the author; HEALTHCHECK NONE disables", () => {
    const s = steps("FROM a\nMAINTAINER Jane <j@x>\nHEALTHCHECK NONE\n");
    expect(s[0]).toMatchObject({ keyword: "MAINTAINER", author: "Jane <j@x>" });
    expect(s[1]).toMatchObject({ test: ["NONE"] });
  });
});
