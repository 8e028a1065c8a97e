/**
 * The raw HTTP endpoints for image archives (bytes do not belong in tRPC):
 *
 *   GET  /api/images/save?ref=…[&ref=…][&node=…]          → application/x-tar (OCI layout)
 *   POST /api/images/load[?node=…]           body: tar     → {nodeId, nodeName, loaded}
 *   POST /api/images/import?ref=…[&change=…][&node=…]  body: tar → same
 *   POST /api/images/build?t=…[&t=…][&file=…][&build-arg=K=V…][&target=…][&network=host][&node=…]
 *        body: the context tar → application/x-ndjson: `{"progress": line}`… then
 *        `{"built": {digest, tags, steps, warnings, nodeId, nodeName}}` or `{"error": {kind, message}}`
 *        (the status is 200 once the build started: errors after that come as the last line)
 *
 * Authentication as tRPC (session cookie or `Authorization: Bearer berth_…`), the same
 * permission model (`image.read` to save, `image.pull` to load or import, `image.build` to build), and one audit row
 * per attempt, denied and failed ones included, written as the audit middleware writes them.
 * Images belong to teams (images.service.ts): save names only the team's images, and what
 * load, import and build put on the node is the team's.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  DomainError,
  ImageBuildParamsSchema,
  ImageRefOrIdSchema,
  ImageRefSchema,
  NodeRefSchema,
  parseImageChanges,
  toErrorBody,
  type ImageChanges,
  type Permission,
} from "@berth/core";
import { z } from "zod";
import { buildContext, requestInfo, type ContextDeps } from "../../context";
import { HTTP_STATUS_BY_KIND } from "../../errors";
import { sendJson } from "../../http-json";
import { requirePermission } from "../../trpc";
import type { NodeImage } from "./image-claims";

export const IMAGES_SAVE_PATH = "/api/images/save";
export const IMAGES_LOAD_PATH = "/api/images/load";
export const IMAGES_IMPORT_PATH = "/api/images/import";
export const IMAGES_BUILD_PATH = "/api/images/build";
/** Largest archive accepted by load and import. */
export const MAX_ARCHIVE_UPLOAD_BYTES = 8 * 1024 ** 3;
const UPLOAD_TYPES = new Set([
  "application/x-tar",
  "application/tar",
  "application/gzip",
  "application/x-gzip",
  "application/octet-stream",
]);

export function isImageArchivePath(path: string): boolean {
  return (
    path === IMAGES_SAVE_PATH ||
    path === IMAGES_LOAD_PATH ||
    path === IMAGES_IMPORT_PATH ||
    path === IMAGES_BUILD_PATH
  );
}

function one<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new DomainError("invalid_input", `${what}: ${z.prettifyError(r.error)}`);
  return r.data;
}

/** The request body as chunks, refused past `limit` bytes. */
async function* bodyOf(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let size = 0;
  for await (const c of req) {
    const chunk = c as Buffer;
    size += chunk.length;
    if (size > limit)
      throw new DomainError("invalid_input", `the archive is larger than ${limit} bytes`);
    yield chunk;
  }
}

export interface ImageArchiveRouteDeps extends ContextDeps {
  onError?: ((message: string) => void) | undefined;
}

export function createImageArchiveRoutes(deps: ImageArchiveRouteDeps) {
  const { services } = deps;

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const url = new URL(req.url ?? "/", "http://berth.invalid");
    const action =
      path === IMAGES_SAVE_PATH
        ? "images.save"
        : path === IMAGES_LOAD_PATH
          ? "images.load"
          : path === IMAGES_BUILD_PATH
            ? "images.build"
            : "images.import";
    const method = action === "images.save" ? "GET" : "POST";
    const permission: Permission =
      action === "images.save"
        ? "image.read"
        : action === "images.build"
          ? "image.build"
          : "image.pull";
    // With the method and headers: the POST routes get the CSRF check for cookie callers.
    const ctx = buildContext(deps, requestInfo(req, res));
    const refs = url.searchParams.getAll(action === "images.build" ? "t" : "ref");
    const node = url.searchParams.get("node") ?? undefined;
    const changes = url.searchParams.getAll("change");
    const params: Record<string, unknown> = {};
    if (refs.length > 0) params.ref = action === "images.save" ? refs : refs[0];
    if (node !== undefined) params.node = node;
    if (changes.length > 0) params.changes = changes;
    const audit = (result: "ok" | "denied" | "error", error: string | null, extra = {}) =>
      services.audit.record({
        actorId: ctx.user?.id ?? null,
        actorName: ctx.user?.username ?? null,
        teamId: ctx.actor?.teamId ?? null,
        action,
        target: refs.join(", ") || null,
        params: { ...params, ...extra },
        result,
        error,
        address: ctx.address,
      });
    let headersSent = false;
    try {
      if (req.method !== method) {
        res.setHeader("allow", method);
        sendJson(res, 405, { error: { kind: "invalid_input", message: `use ${method}` } });
        return;
      }
      requirePermission(ctx, permission);
      const nodeRef = node === undefined ? undefined : one(NodeRefSchema, node, "node");
      const abort = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) abort.abort();
      });

      if (action === "images.save") {
        if (refs.length === 0)
          throw new DomainError("invalid_input", "name at least one image (ref=…)");
        const valid = refs.map((r) => one(ImageRefOrIdSchema, r, `ref ${JSON.stringify(r)}`));
        const target = services.images.target(ctx.actor, nodeRef);
        // Only the team's images (another team's is "not found"), sent as resolved here.
        const named = await services.images.resolveAll(ctx.actor, target, valid);
        const it = services.imageArchives.save(target, named, abort.signal);
        // The first chunk before the headers: an unknown image is still a clean JSON error.
        const first = await it.next();
        res.writeHead(200, {
          "content-type": "application/x-tar",
          "cache-control": "no-store",
          "content-disposition": 'attachment; filename="images.tar"',
          "x-berth-node": target.name,
        });
        headersSent = true;
        let bytes = 0;
        const write = async (b: Buffer) => {
          bytes += b.length;
          if (!res.write(b))
            await new Promise<void>((resolve) => {
              const done = () => {
                res.off("drain", done);
                res.off("close", done);
                resolve();
              };
              res.on("drain", done);
              res.on("close", done);
            });
        };
        if (!first.done) await write(first.value);
        for (;;) {
          if (abort.signal.aborted) throw new DomainError("unavailable", "the client went away");
          const next = await it.next();
          if (next.done) break;
          await write(next.value);
        }
        res.end();
        audit("ok", null, { bytes, nodeName: target.name });
        return;
      }

      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (!UPLOAD_TYPES.has(type))
        throw new DomainError(
          "invalid_input",
          `send the archive as Content-Type: application/x-tar (got ${type || "none"})`,
        );
      const declared = Number(req.headers["content-length"] ?? "0");
      if (declared > MAX_ARCHIVE_UPLOAD_BYTES)
        throw new DomainError(
          "invalid_input",
          `the archive is larger than ${MAX_ARCHIVE_UPLOAD_BYTES} bytes`,
        );
      const body = bodyOf(req, MAX_ARCHIVE_UPLOAD_BYTES);
      if (action === "images.build") {
        const buildArgs: Record<string, string> = {};
        for (const kv of url.searchParams.getAll("build-arg")) {
          const eq = kv.indexOf("=");
          if (eq <= 0) throw new DomainError("invalid_input", `build-arg ${kv}: use KEY=VALUE`);
          buildArgs[kv.slice(0, eq)] = kv.slice(eq + 1);
        }
        const network = url.searchParams.get("network") ?? "default";
        if (network !== "default" && network !== "host" && network !== "none")
          throw new DomainError("invalid_input", `network ${network}: use default, none or host`);
        // RUN on the host's network reaches what the host reaches: an admin's choice, like
        // `run --network host`.
        if (network === "host" && !ctx.user.isAdmin)
          throw new DomainError("forbidden", "only administrators may build with --network host");
        const buildParams = one(
          ImageBuildParamsSchema,
          {
            tags: refs,
            dockerfile: url.searchParams.get("file") ?? undefined,
            buildArgs,
            target: url.searchParams.get("target") ?? undefined,
            allowHostNetwork: network === "host",
          },
          "build",
        );
        const target = services.images.target(ctx.actor, nodeRef);
        // A tag another team's image has on the node is not taken over, and the build starts
        // only from the team's images (another team's is missing to it).
        const usable = await services.images.beforeBuild(ctx.actor, target, buildParams.tags);
        res.writeHead(200, {
          "content-type": "application/x-ndjson",
          "cache-control": "no-store",
          "x-berth-node": target.name,
        });
        headersSent = true;
        const line = (o: unknown) => res.write(`${JSON.stringify(o)}\n`);
        try {
          const built = await services.imageArchives.build(
            target,
            usable === undefined ? buildParams : { ...buildParams, images: usable },
            body,
            (progress) => line({ progress }),
            abort.signal,
          );
          // The team holds what it built (by id when it gave no tag).
          if (built.tags.length === 0)
            services.images.claim(ctx.actor, target.id, null, built.digest);
          for (const t of built.tags) services.images.claim(ctx.actor, target.id, t, built.digest);
          line({ built });
          res.end();
          audit("ok", null, { nodeName: target.name, digest: built.digest });
        } catch (e) {
          const err = toErrorBody(e);
          line({ error: { kind: err.kind, message: err.message } });
          res.end();
          audit("error", err.message, { nodeName: target.name });
          if (!req.readableEnded) req.resume();
        }
        return;
      }
      let result;
      // What the node's names pointed at before (members): a load gives none of them away.
      let before: NodeImage[] | undefined;
      if (action === "images.load") {
        const target = services.images.target(ctx.actor, nodeRef);
        if (!ctx.actor.isAdmin) before = (await services.images.nodeImages(target.id)).rows;
        result = await services.imageArchives.load(target, body, abort.signal);
      } else {
        if (refs.length !== 1)
          throw new DomainError("invalid_input", "name the image to create (ref=NAME[:TAG])");
        const ref = one(ImageRefSchema, refs[0], "ref");
        let parsed: ImageChanges | undefined;
        try {
          parsed = changes.length > 0 ? parseImageChanges(changes) : undefined;
        } catch (e) {
          throw new DomainError("invalid_input", (e as Error).message);
        }
        const target = services.images.target(ctx.actor, nodeRef);
        await services.images.assertRefsFree(ctx.actor, target, [ref]);
        result = await services.imageArchives.import(target, ref, parsed, body, abort.signal);
      }
      // The team holds what it loaded or imported (never another team's name: images.service.ts).
      result = {
        ...result,
        loaded: await services.images.loaded(ctx.actor, result.nodeId, result.loaded, before),
      };
      sendJson(res, 200, result);
      audit("ok", null, { nodeName: result.nodeName, loaded: result.loaded });
    } catch (e) {
      const err = toErrorBody(e);
      if (err.kind === "internal") deps.onError?.(`${action}: ${err.message}`);
      const denied = err.kind === "unauthenticated" || err.kind === "forbidden";
      audit(denied ? "denied" : "error", err.message);
      if (headersSent || res.headersSent) {
        res.destroy();
        return;
      }
      // A refused upload: answer at once, and drop the rest of the body.
      if (method === "POST" && !req.readableEnded) res.setHeader("connection", "close");
      sendJson(res, HTTP_STATUS_BY_KIND[err.kind], {
        error: { kind: err.kind, message: err.message },
      });
      if (method === "POST" && !req.readableEnded) req.resume();
    }
  }

  return { handle };
}
