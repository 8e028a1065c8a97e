/**
 * Image references: `busybox`, `busybox:latest` and `docker.io/library/busybox:latest` name the
 * same image. Normalized form: `<domain>/<path>:<tag>` or `<domain>/<path>@sha256:…`.
 */
import { invalidInput } from "@berth/core";

export const DEFAULT_DOMAIN = "docker.io";
/** Docker Hub's legacy names for itself, normalized to `docker.io`. */
const DOCKER_HUB_ALIASES = new Set(["index.docker.io", "registry-1.docker.io"]);
/** distribution/reference: a name (domain + path) is at most 255 characters. */
export const NAME_MAX_LENGTH = 255;

export interface ImageReference {
  domain: string;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

// The grammar of github.com/distribution/reference (Docker's), spelled out.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

function bad(input: string, why: string): never {
  throw invalidInput(`invalid image reference "${input}": ${why}`, { ref: input });
}

/**
 * Parses a reference the way Docker does: `busybox` → docker.io/library/busybox:latest,
 * `host:port/team/app:tag`, `localhost/x`, `name@sha256:…`, `name:tag@sha256:…`. The first
 * path component is a registry when it has a `.` or a `:`, is `localhost`, or has capitals.
 * Repository paths must be lowercase; only sha256 digests are accepted.
 */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) bad(input, "it is empty");
  if (input.length > 512) bad(input.slice(0, 64) + "…", "it is longer than 512 characters");
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest))
      bad(input, `"${digest}" is not a digest (sha256:<64 lowercase hex>)`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag))
      bad(input, `tag "${tag}" must be 1-128 of [A-Za-z0-9_.-], not starting with . or -`);
  }
  const slash = rest.indexOf("/");
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (
      first.includes(".") ||
      first.includes(":") ||
      first === "localhost" ||
      first !== first.toLowerCase()
    ) {
      if (!DOMAIN_RE.test(first)) bad(input, `"${first}" is not a valid registry host[:port]`);
      domain = DOCKER_HUB_ALIASES.has(first) ? DEFAULT_DOMAIN : first;
      path = rest.slice(slash + 1);
    }
  }
  if (path.length === 0) bad(input, "the repository name is empty");
  for (const component of path.split("/")) {
    if (component !== component.toLowerCase()) bad(input, "repository names must be lowercase");
    if (!PATH_COMPONENT_RE.test(component))
      bad(
        input,
        `"${component}" is not a valid path component (lowercase letters, digits, and . _ __ - between them)`,
      );
  }
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
  if (`${domain}/${path}`.length > NAME_MAX_LENGTH)
    bad(input, `the repository name is longer than ${NAME_MAX_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = "latest";
  return { domain, path, tag, digest };
}

export function formatReference(r: ImageReference): string {
  return `${r.domain}/${r.path}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}

export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}

/** The short form people type: `busybox:latest` for Docker Hub's library images. */
export function familiarReference(normalized: string): string {
  const r = parseReference(normalized);
  let name =
    r.domain === DEFAULT_DOMAIN ? r.path.replace(/^library\//, "") : `${r.domain}/${r.path}`;
  if (r.domain === DEFAULT_DOMAIN && !r.path.startsWith("library/")) name = r.path;
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ""}${r.digest !== undefined ? `@${r.digest}` : ""}`;
}
