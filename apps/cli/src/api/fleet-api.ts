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
import { parseAnswer } from "./parse-answer";
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

export class FleetApi {
  constructor(private readonly client: TRPCClient<AppRouter>) {}

  async listNodes() {
    const v = await this.client.nodes.list.query();
    return parseAnswer(FleetNodeViewSchema.array(), v, "nodes.list");
  }
  async getNode(ref: string) {
    return parseAnswer(
      NodeDetailViewSchema,
      await this.client.nodes.get.query({ ref }),
      "nodes.get",
    );
  }
  async setLabels(input: z.input<typeof NodeSetLabelsInputSchema>) {
    const v = await this.client.nodes.setLabels.mutate(input);
    return parseAnswer(z.record(z.string(), z.string()), v, "nodes.setLabels");
  }
  async setPool(input: z.input<typeof NodeSetPoolInputSchema>) {
    return parseAnswer(
      FleetNodeViewSchema,
      await this.client.nodes.setPool.mutate(input),
      "nodes.setPool",
    );
  }
  async cordon(ref: string, cordoned: boolean) {
    const v = cordoned
      ? await this.client.nodes.cordon.mutate({ ref })
      : await this.client.nodes.uncordon.mutate({ ref });
    return parseAnswer(CordonViewSchema, v, cordoned ? "nodes.cordon" : "nodes.uncordon");
  }
  async drain(input: z.input<typeof NodeDrainInputSchema>) {
    return parseAnswer(
      DrainReportSchema,
      await this.client.nodes.drain.mutate(input),
      "nodes.drain",
    );
  }
  async removeNode(input: z.input<typeof NodeRemoveInputSchema>) {
    return parseAnswer(
      NodeRemovedSchema,
      await this.client.nodes.remove.mutate(input),
      "nodes.remove",
    );
  }
  async rotateCredential(ref: string) {
    const v = await this.client.nodes.rotateCredential.mutate({ ref });
    return parseAnswer(RotatedSchema, v, "nodes.rotateCredential");
  }

  async listPools() {
    return parseAnswer(PoolViewSchema.array(), await this.client.pools.list.query(), "pools.list");
  }
  async createPool(name: string) {
    return parseAnswer(
      PoolViewSchema,
      await this.client.pools.create.mutate({ name }),
      "pools.create",
    );
  }
  async removePool(ref: string) {
    return parseAnswer(
      PoolRemovedSchema,
      await this.client.pools.remove.mutate({ ref }),
      "pools.remove",
    );
  }
  async grantPool(ref: string, team: string) {
    return parseAnswer(
      PoolViewSchema,
      await this.client.pools.grant.mutate({ ref, team }),
      "pools.grant",
    );
  }
  async revokePool(ref: string, team: string) {
    const v = await this.client.pools.revoke.mutate({ ref, team });
    return parseAnswer(PoolViewSchema, v, "pools.revoke");
  }

  async createJoinToken(input: FleetJoinTokenInput) {
    const v = await this.client.joinTokens.create.mutate(input);
    return parseAnswer(JoinTokenCreatedSchema, v, "joinTokens.create");
  }
  async listJoinTokens() {
    const v = await this.client.joinTokens.list.query();
    return parseAnswer(JoinTokenViewSchema.array(), v, "joinTokens.list");
  }
  async revokeJoinToken(id: string) {
    const v = await this.client.joinTokens.revoke.mutate({ id });
    return parseAnswer(JoinTokenViewSchema, v, "joinTokens.revoke");
  }
}
