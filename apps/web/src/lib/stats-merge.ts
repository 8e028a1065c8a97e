/**
 * The stats charts fetch the agent's hour of history once, then only what is newer (`afterMs` =
 * their newest point): `mergeStatsHistory` appends a page to what the chart holds and keeps the
 * same last-hour window the agent keeps.
 */
import { MAX_STATS_POINTS, type StatsHistory } from "@berth/core";

export const STATS_WINDOW_MS = 3_600_000;

/** `prev` plus the points of `page` newer than prev's newest, trimmed to the last hour. */
export function mergeStatsHistory(
  prev: StatsHistory | undefined,
  page: StatsHistory,
): StatsHistory {
  if (!prev) return page;
  const newest = prev.points.at(-1)?.t ?? -Infinity;
  const fresh = page.points.filter((p) => p.t > newest);
  const points = fresh.length === 0 ? prev.points : [...prev.points, ...fresh];
  const cutoff = (points.at(-1)?.t ?? 0) - STATS_WINDOW_MS;
  let start = 0;
  while (start < points.length && points[start]!.t <= cutoff) start++;
  start = Math.max(start, points.length - MAX_STATS_POINTS);
  return {
    intervalMs: page.intervalMs,
    points: start === 0 && fresh.length === 0 ? prev.points : points.slice(start),
  };
}
