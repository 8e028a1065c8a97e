/** The CLI's calls for the audit trail (audit.*, /api/audit/export) and API tokens (auth.tokens.*). */
import type {
  AuditExportFormat,
  AuditFilter,
  AuditListInput,
  ApiTokenCreateInput,
} from "@berth/core";
import type { TRPCClient } from "@trpc/client";
import type { AppRouter } from "@berth/web/router";
import { z } from "zod";
import { parseAnswer } from "./parse-answer";
import { TransferError } from "./archive-transfer";
import type { HttpFetch } from "./http-fetch";

export const AuditRowSchema = z.object({
  id: z.number(),
  seq: z.number().nullable(),
  at: z.number(),
  actorId: z.string().nullable(),
  actorName: z.string().nullable(),
  teamId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  params: z.unknown(),
  result: z.enum(["ok", "denied", "error"]),
  error: z.string().nullable(),
  address: z.string().nullable(),
  hash: z.string().nullable(),
});
export type AuditRow = z.infer<typeof AuditRowSchema>;

const AuditPageSchema = z.object({
  items: AuditRowSchema.array(),
  nextCursor: z.number().nullable(),
});

export const AuditVerifySchema = z.object({
  ok: z.boolean(),
  checked: z.number(),
  anchor: z.object({ seq: z.number(), hash: z.string() }),
  head: z.object({ seq: z.number(), hash: z.string() }).nullable(),
  firstBad: z
    .object({
      seq: z.number().nullable(),
      id: z.number().nullable(),
      reason: z.enum(["changed", "removed", "inserted"]),
      detail: z.string(),
    })
    .optional(),
});
export type AuditVerify = z.infer<typeof AuditVerifySchema>;

export const TokenViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  scopes: z.array(z.string()).nullable(),
  createdAt: z.number(),
  expiresAt: z.number().nullable(),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});
export type TokenView = z.infer<typeof TokenViewSchema>;

export class AuditApi {
  constructor(
    private readonly client: TRPCClient<AppRouter>,
    private readonly server: string,
    private readonly fetch: HttpFetch,
  ) {}

  async list(input: AuditListInput): Promise<{ items: AuditRow[]; nextCursor: number | null }> {
    return parseAnswer(AuditPageSchema, await this.client.audit.list.query(input), "audit.list");
  }

  async verify(): Promise<AuditVerify> {
    return parseAnswer(AuditVerifySchema, await this.client.audit.verify.query(), "audit.verify");
  }

  /** Streams the export's bytes to `write`, awaiting its promise (back-pressure). */
  async export(
    filter: AuditFilter,
    format: AuditExportFormat,
    write: (chunk: Uint8Array) => Promise<void> | void,
  ): Promise<void> {
    const url = new URL(
      "/api/audit/export",
      this.server.endsWith("/") ? this.server : `${this.server}/`,
    );
    url.searchParams.set("format", format);
    for (const [k, v] of Object.entries(filter))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const res = await this.fetch(url);
    if (!res.ok) {
      const body = (await res.json().catch(() => null)) as {
        error?: { kind?: string; message?: string };
      } | null;
      throw new TransferError(
        body?.error?.message ?? `the server answered HTTP ${res.status}`,
        body?.error?.kind ?? "internal",
        res.status,
      );
    }
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      await write(value);
    }
  }
}

export class TokensApi {
  constructor(private readonly client: TRPCClient<AppRouter>) {}

  async create(input: ApiTokenCreateInput): Promise<TokenView & { token: string }> {
    const v = await this.client.auth.tokens.create.mutate(input);
    return parseAnswer(TokenViewSchema.extend({ token: z.string() }), v, "auth.tokens.create");
  }

  async list(all = false): Promise<TokenView[]> {
    const v = await this.client.auth.tokens.list.query({ all });
    return parseAnswer(TokenViewSchema.array(), v, "auth.tokens.list");
  }

  async revoke(ref: string): Promise<TokenView> {
    return parseAnswer(
      TokenViewSchema,
      await this.client.auth.tokens.revoke.mutate({ ref }),
      "auth.tokens.revoke",
    );
  }
}
