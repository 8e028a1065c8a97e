/** Options of the `berth` program itself, given before the command (`berth --server URL ps`). */
export interface GlobalFlags {
  server?: string;
  token?: string;
  /** `--team`: the team to act in (id or name). */
  team?: string;
}

/** The global flags with a command's own `--team` (creating verbs: `berth run --team T`). */
export function withTeamFlag(globals: GlobalFlags, flags: { team?: string }): GlobalFlags {
  return flags.team ? { ...globals, team: flags.team } : globals;
}
