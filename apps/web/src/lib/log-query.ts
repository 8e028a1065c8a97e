/**
 * The log viewer's query (search, stream, tail, since/until) and the URL of the matching
 * download (/api/containers/:ref/logs/download, served by the server's logs HTTP route).
 */
export interface LogQuery {
  grep?: { pattern: string; regex: boolean; ignoreCase: boolean };
  stream?: "stdout" | "stderr";
  tail?: number;
  since?: string;
  until?: string;
}

/** A `datetime-local` value (local time, no zone) as RFC 3339 in UTC. */
export function localToRfc3339(local: string): string {
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return local;
  return d.toISOString();
}

/** The download of what the query selects (the whole log without one). */
export function logDownloadUrl(ref: string, q: LogQuery, timestamps: boolean): string {
  const p = new URLSearchParams();
  if (q.since) p.set("since", q.since);
  if (q.until) p.set("until", q.until);
  if (q.stream) p.set("stream", q.stream);
  if (q.tail !== undefined) p.set("tail", String(q.tail));
  if (q.grep) {
    p.set("grep", q.grep.pattern);
    if (q.grep.regex) p.set("regex", "1");
    if (q.grep.ignoreCase) p.set("ignoreCase", "1");
  }
  if (timestamps) p.set("timestamps", "1");
  const qs = p.toString();
  return `/api/containers/${encodeURIComponent(ref)}/logs/download${qs ? `?${qs}` : ""}`;
}
