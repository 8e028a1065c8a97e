/** Options of the `berth` program itself, given before the command (`berth --server URL ps`). */
export interface GlobalFlags {
  server?: string;
  token?: string;
}
