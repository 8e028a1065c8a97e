/** `berth version`: the client's version and, when reachable, the server's (GET /api/health). */
import { PROTOCOL_VERSION } from "@berth/core";
import { type Command } from "commander";
import { withApi, type CliContext } from "../context";
import { type GlobalFlags } from "./global-flags";

export function registerVersionCommand(
  program: Command,
  ctx: CliContext,
  globals: () => GlobalFlags,
): void {
  program
    .command("version")
    .description("Show the berth version information")
    .action(async () => {
      ctx.stdout.write(
        `Client:\n Version:           ${ctx.version}\n Agent protocol:    v${PROTOCOL_VERSION}\n` +
          ` Node.js:           ${process.version}\n OS/Arch:           ${process.platform}/${process.arch}\n\n`,
      );
      const { health, server } = await withApi(
        ctx,
        globals(),
        { anonymous: true },
        async (api) => ({
          health: await api.health(),
          server: api.server,
        }),
      );
      ctx.stdout.write(
        `Server: ${server}\n Version:           ${health.version}\n Status:            ${health.status}\n` +
          ` Database:          ${health.db}\n Agents connected:  ${health.agentsConnected}\n` +
          ` Uptime:            ${Math.floor(health.uptimeSeconds)}s\n`,
      );
    });
}
