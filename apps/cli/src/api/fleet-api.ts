/** The CLI's calls for fleet management: nodes.*, pools.*, joinTokens.* (answers validated). */
import type {
  FleetJoinTokenInput,
  NodeDrainInputSchema,
  NodeRemoveInputSchema,
  NodeSetLabelsInputSchema,
  NodeSetPoolInputSchema,
} from "@berth/core";
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "@berth/web/router";
import { z } from "zod";
import { CliError } from "../errors";
import {
  CordonViewSchema,
  DrainReportSchema,
  FleetNodeViewSchema,
  JoinTokenViewSchema,
  NodeDetailViewSchema,
  NodeRemovedSchema,
  PoolRemovedSchema,
  PoolViewSchema,
  RotatedSchema,
} from "./fleet-views";
import { JoinTokenCreatedSchema } from "./views";

function parse<S extends z.ZodType>(schema: S, value: unknown, procedure: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(
      `unexpected answer from berth-server to ${procedure}: ${issue.path.join(".") || "(root)"}: ${issue.message}`,
      { hint: "the CLI and the server may be different versions: compare `berth version`" },
    );
  }
  return parsed.data;
}

export class FleetApi {
  constructor(private readonly client: TRPCClient<AppRouter>) {}

  async listNodes() {
    const v = await this.client.nodes.list.query();
    return parse(FleetNodeViewSchema.array(), v, "nodes.list");
  }
  async getNode(ref: string) {
    return parse(NodeDetailViewSchema, await this.client.nodes.get.query({ ref }), "nodes.get");
  }
  async setLabels(input: z.input<typeof NodeSetLabelsInputSchema>) {
    const v = await this.client.nodes.setLabels.mutate(input);
    return parse(z.record(z.string(), z.string()), v, "nodes.setLabels");
  }
  async setPool(input: z.input<typeof NodeSetPoolInputSchema>) {
    return parse(
      FleetNodeViewSchema,
      await this.client.nodes.setPool.mutate(input),
      "nodes.setPool",
    );
  }
  async cordon(ref: string, cordoned: boolean) {
    const v = cordoned
      ? await this.client.nodes.cordon.mutate({ ref })
      : await this.client.nodes.uncordon.mutate({ ref });
    return parse(CordonViewSchema, v, cordoned ? "nodes.cordon" : "nodes.uncordon");
  }
  async drain(input: z.input<typeof NodeDrainInputSchema>) {
    return parse(DrainReportSchema, await this.client.nodes.drain.mutate(input), "nodes.drain");
  }
  async removeNode(input: z.input<typeof NodeRemoveInputSchema>) {
    return parse(NodeRemovedSchema, await this.client.nodes.remove.mutate(input), "nodes.remove");
  }
  async rotateCredential(ref: string) {
    const v = await this.client.nodes.rotateCredential.mutate({ ref });
    return parse(RotatedSchema, v, "nodes.rotateCredential");
  }

  async listPools() {
    return parse(PoolViewSchema.array(), await this.client.pools.list.query(), "pools.list");
  }
  async createPool(name: string) {
    return parse(PoolViewSchema, await this.client.pools.create.mutate({ name }), "pools.create");
  }
  async removePool(ref: string) {
    return parse(PoolRemovedSchema, await this.client.pools.remove.mutate({ ref }), "pools.remove");
  }
  async grantPool(ref: string, team: string) {
    return parse(
      PoolViewSchema,
      await this.client.pools.grant.mutate({ ref, team }),
      "pools.grant",
    );
  }
  async revokePool(ref: string, team: string) {
    const v = await this.client.pools.revoke.mutate({ ref, team });
    return parse(PoolViewSchema, v, "pools.revoke");
  }

  async createJoinToken(input: FleetJoinTokenInput) {
    const v = await this.client.joinTokens.create.mutate(input);
    return parse(JoinTokenCreatedSchema, v, "joinTokens.create");
  }
  async listJoinTokens() {
    const v = await this.client.joinTokens.list.query();
    return parse(JoinTokenViewSchema.array(), v, "joinTokens.list");
  }
  async revokeJoinToken(id: string) {
    const v = await this.client.joinTokens.revoke.mutate({ id });
    return parse(JoinTokenViewSchema, v, "joinTokens.revoke");
  }
}
