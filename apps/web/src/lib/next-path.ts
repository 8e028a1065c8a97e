/**
 * Where to go after signing in: only a same-origin absolute path (`/containers?x=1`), never
 * `//evil.example` or `https://…`, and never back to /login itself.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  if ([...next].some((ch) => ch.charCodeAt(0) < 0x20)) return "/";
  if (next === "/login" || next.startsWith("/login?") || next.startsWith("/login/")) return "/";
  return next;
}

export function loginPathFor(current: string): string {
  const next = safeNextPath(current);
  return next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`;
}
