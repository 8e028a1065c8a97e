/**
 * A minimal tRPC-over-HTTP caller for test set-up and clean-up (plain JSON, no transformer,
 * as docs/API.md says). The tests themselves drive the browser.
 */
import { z } from "zod";

const EnvelopeSchema = z.union([
  z.object({ result: z.object({ data: z.unknown() }) }),
  z.object({ error: z.object({ message: z.string() }).passthrough() }),
]);

export class E2EApi {
  private cookie = "";
  private csrf = "";
  /** The team calls act in (`x-berth-team`); null: the user's default team. */
  team: string | null = null;
  constructor(private readonly baseURL: string) {}

  private async call(path: string, init: RequestInit): Promise<unknown> {
    const res = await fetch(`${this.baseURL}/api/trpc/${path}`, {
      ...init,
      headers: {
        "content-type": "application/json",
        ...(this.cookie ? { cookie: this.cookie } : {}),
        // Cookie-authenticated mutations carry the CSRF token, as the dashboard sends it.
        ...(this.csrf ? { "x-berth-csrf": this.csrf } : {}),
        ...(this.team ? { "x-berth-team": this.team } : {}),
      },
    });
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith("berth_session="));
    if (session) this.cookie = session.split(";")[0]!;
    const csrf = cookies.find((c) => c.startsWith("berth_csrf="));
    if (csrf) this.csrf = csrf.split(";")[0]!.slice("berth_csrf=".length);
    const body = EnvelopeSchema.parse(await res.json());
    if ("error" in body) throw new Error(`${path}: ${body.error.message} (HTTP ${res.status})`);
    return body.result.data;
  }

  query(path: string, input?: unknown): Promise<unknown> {
    const qs = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return this.call(`${path}${qs}`, { method: "GET" });
  }

  mutate(path: string, input?: unknown): Promise<unknown> {
    return this.call(path, {
      method: "POST",
      body: input === undefined ? undefined : JSON.stringify(input),
    });
  }

  async login(username: string, password: string): Promise<void> {
    await this.mutate("auth.login", { username, password });
  }

  async containers(): Promise<{ id: string; name: string; state: string }[]> {
    return z
      .array(z.object({ id: z.string(), name: z.string(), state: z.string() }))
      .parse(await this.query("containers.list", { all: true }));
  }
}
