/**
 * `-p/--publish` in Docker's syntax, parsed by a pure function:
 *   [hostIP:][hostPort:]containerPort[/tcp|/udp]
 * where hostPort and containerPort may be ranges (`8000-8001:80-81`). An empty or absent
 * hostPort means "any free port" (`-p 80`, `-p 127.0.0.1::80`); a host range with a single
 * container port means "the first free port of the range" (`-p 8000-8010:80`). IPv4 only.
 */
import { z } from "zod";
import { invalidInput } from "@berth/core";
import { Ipv4Schema } from "./ipv4";

export const PortProtocolSchema = z.enum(["tcp", "udp"]);
export type PortProtocol = z.infer<typeof PortProtocolSchema>;

const PortSchema = z.number().int().min(1).max(65_535);

export const PortRequestSchema = z
  .object({
    /** Host address the port is published on; 0.0.0.0 = every address of the host. */
    hostIp: Ipv4Schema,
    /** Host ports to choose from (inclusive); null = any free port. */
    hostPort: z.object({ start: PortSchema, end: PortSchema }).nullable(),
    containerPort: PortSchema,
    protocol: PortProtocolSchema,
  })
  .refine((r) => r.hostPort === null || r.hostPort.start <= r.hostPort.end, {
    message: "host port range must not be reversed",
  });
export type PortRequest = z.infer<typeof PortRequestSchema>;

export const PublishSpecSchema = z.string().trim().min(1, "is empty").max(128, "is too long");

function parseRange(s: string, what: string, spec: string): { start: number; end: number } {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(s);
  if (!m) throw invalidInput(`invalid ${what} "${s}" in -p ${spec}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  for (const p of [start, end])
    if (p < 1 || p > 65_535)
      throw invalidInput(`invalid ${what} ${p} in -p ${spec}: must be between 1 and 65535`);
  if (end < start) throw invalidInput(`invalid ${what} range "${s}" in -p ${spec}: end < start`);
  return { start, end };
}

/** Parses one `-p` value into one request per container port. Throws DomainError invalid_input. */
export function parsePublish(input: string): PortRequest[] {
  const parsed = PublishSpecSchema.safeParse(input);
  if (!parsed.success) throw invalidInput(`invalid -p: ${parsed.error.issues[0]!.message}`);
  const spec = parsed.data;
  let rest = spec;
  let protocol: PortProtocol = "tcp";
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    const p = PortProtocolSchema.safeParse(rest.slice(slash + 1).toLowerCase());
    if (!p.success)
      throw invalidInput(`invalid protocol "${rest.slice(slash + 1)}" in -p ${spec}: tcp or udp`);
    protocol = p.data;
    rest = rest.slice(0, slash);
  }
  if (rest.startsWith("["))
    throw invalidInput(`-p ${spec}: IPv6 host addresses are not supported (IPv4 only)`);
  const parts = rest.split(":");
  let hostIp = "0.0.0.0";
  let hostPart = "";
  let ctrPart: string;
  if (parts.length === 1) ctrPart = parts[0]!;
  else if (parts.length === 2) [hostPart, ctrPart] = parts as [string, string];
  else if (parts.length === 3) {
    const ip = Ipv4Schema.safeParse(parts[0]);
    if (!ip.success) throw invalidInput(`invalid host IP "${parts[0]}" in -p ${spec}`);
    hostIp = ip.data;
    hostPart = parts[1]!;
    ctrPart = parts[2]!;
  } else
    throw invalidInput(`invalid -p ${spec}: expected [hostIP:][hostPort:]containerPort[/proto]`);

  const ctr = parseRange(ctrPart, "container port", spec);
  const host = hostPart === "" ? null : parseRange(hostPart, "host port", spec);
  const ctrLen = ctr.end - ctr.start + 1;
  const out: PortRequest[] = [];
  if (ctrLen === 1) {
    out.push({ hostIp, hostPort: host, containerPort: ctr.start, protocol });
  } else {
    if (host !== null && host.end - host.start + 1 !== ctrLen)
      throw invalidInput(
        `invalid -p ${spec}: the host port range must be as long as the container port range`,
      );
    for (let i = 0; i < ctrLen; i++) {
      const hp = host === null ? null : { start: host.start + i, end: host.start + i };
      out.push({ hostIp, hostPort: hp, containerPort: ctr.start + i, protocol });
    }
  }
  return out.map((r) => PortRequestSchema.parse(r));
}
