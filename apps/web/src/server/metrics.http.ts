/**
 * GET /metrics: the exposition text for a bearer of BERTH_METRICS_TOKEN, a signed-in
 * administrator (session or unscoped API token), or — when BERTH_METRICS_ALLOW_LOOPBACK is set — any
 * client on the loopback interface. Others get 401 (no credential) or 403.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { buildContext } from "./context";
import { sendJson } from "./http-json";
import { bearerMatches, isLoopback, type MetricsAccess, type ServerMetrics } from "./metrics";
import type { Services } from "./services";

export interface MetricsRouteDeps {
  metrics: ServerMetrics;
  access: MetricsAccess;
  services: Services;
  defaultTeamId: string;
}

function allowed(req: IncomingMessage, deps: MetricsRouteDeps): "ok" | 401 | 403 {
  if (bearerMatches(req.headers.authorization, deps.access.token)) return "ok";
  if (deps.access.allowLoopback && isLoopback(req.socket.remoteAddress)) return "ok";
  const ctx = buildContext(
    { services: deps.services, defaultTeamId: deps.defaultTeamId, secureCookies: false },
    {
      cookie: req.headers.cookie,
      authorization: req.headers.authorization,
      address: req.socket.remoteAddress ?? null,
      setCookie: () => undefined,
    },
  );
  if (!ctx.user) return 401;
  // An administrator's scoped API token is not enough: metrics need full administration.
  return ctx.user.isAdmin && !ctx.user.tokenScopes ? "ok" : 403;
}

export async function serveMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  deps: MetricsRouteDeps,
): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    return sendJson(res, 405, { error: { kind: "invalid_input", message: "use GET" } });
  }
  const verdict = allowed(req, deps);
  if (verdict !== "ok") {
    if (verdict === 401) res.setHeader("www-authenticate", 'Bearer realm="berth metrics"');
    return sendJson(res, verdict, {
      error:
        verdict === 401
          ? { kind: "unauthenticated", message: "metrics need a bearer token or an administrator" }
          : {
              kind: "forbidden",
              message:
                "only administrators may read metrics (with a session or an unscoped API token)",
            },
    });
  }
  const { contentType, body } = await deps.metrics.render();
  res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" });
  res.end(req.method === "HEAD" ? undefined : body);
}
