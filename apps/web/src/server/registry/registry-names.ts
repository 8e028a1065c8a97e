/** Repository names, tags and digests as the distribution spec defines them. */
import { RegistryError } from "./registry-errors";

/** The spec's `<name>` regular expression. */
export const REPOSITORY_NAME_RE =
  /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
/** Longest repository name accepted (the spec's clients assume 255 with the host). */
export const MAX_NAME_LENGTH = 255;

export function validateName(name: string): string {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !REPOSITORY_NAME_RE.test(name))
    throw new RegistryError("NAME_INVALID", "invalid repository name", { name });
  return name;
}

export function isDigest(ref: string): boolean {
  return DIGEST_RE.test(ref);
}

/** A `sha256:<64 hex>` digest; anything else is DIGEST_INVALID (or UNSUPPORTED for other algorithms). */
export function parseDigest(value: string | null | undefined): string {
  if (!value || !DIGEST_RE.test(value))
    throw new RegistryError("DIGEST_INVALID", "provided digest is not a valid digest", {
      digest: value ?? null,
    });
  if (!SHA256_RE.test(value)) {
    if (!value.startsWith("sha256:"))
      throw new RegistryError("UNSUPPORTED", "only sha256 digests are supported", {
        digest: value,
      });
    throw new RegistryError("DIGEST_INVALID", "provided digest is not a valid sha256 digest", {
      digest: value,
    });
  }
  return value;
}

export function validateTag(tag: string): string {
  if (!TAG_RE.test(tag)) throw new RegistryError("TAG_INVALID", "invalid tag", { tag });
  return tag;
}

/** The team namespace of a repository (`<team>/<rest>`), or null for a single-component name. */
export function namespaceOf(name: string): string | null {
  const i = name.indexOf("/");
  return i > 0 ? name.slice(0, i) : null;
}
