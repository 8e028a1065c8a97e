/**
 * Image references: `busybox`, `busybox:latest` and `docker.io/library/busybox:latest` name the
 * same image. Normalized form: `<domain>/<path>:<tag>` or `<domain>/<path>@sha256:…`.
 */
import { ImageRefSchema, invalidInput } from "@berth/core";

export const DEFAULT_DOMAIN = "docker.io";

export interface ImageReference {
  domain: string;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

export function parseReference(input: string): ImageReference {
  const parsed = ImageRefSchema.safeParse(input);
  if (!parsed.success) throw invalidInput(`invalid image reference "${input}"`);
  let rest = parsed.data;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  if (lastColon > rest.lastIndexOf("/")) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  const slash = rest.indexOf("/");
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = `library/${path}`;
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
