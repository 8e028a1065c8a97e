/** Size parsing as Docker does it: `64m`, `1g`, `512k`, `1024` (bytes), `1.5g`. */
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

export function parseByteSize(input: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m)
    throw new Error(
      `invalid size "${input}": use a number with an optional unit (b, k, m, g), e.g. 64m`,
    );
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) throw new Error(`invalid size unit in "${input}": use b, k, m or g`);
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`invalid size "${input}"`);
  return n;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
