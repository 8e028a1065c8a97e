/**
 * `--device`: host device nodes made available in the container. Each device becomes a
 * `linux.devices` entry (runc creates the node: same type, major/minor, mode and owner as on the
 * host) and device cgroup rules that make the container's access to that major:minor exactly the
 * requested permissions: an allow rule for them and, after the defaults, a deny rule for the rest
 * (so `--device /dev/zero:/dev/z:r` also takes `w` off the default rule for 1:5 — the cgroup
 * knows device numbers, not paths).
 */
import type { OciDevice, SpecOpt } from "./oci-spec";

/** A host device as the agent found it (containers/devices.ts), ready for the spec. */
export interface ResolvedDevice extends OciDevice {
  /** A non-empty subset of "rwm". */
  permissions: string;
}

export const withDevices =
  (devices: readonly ResolvedDevice[]): SpecOpt =>
  (s) => {
    if (devices.length === 0) return;
    s.linux.resources ??= {};
    const rules = (s.linux.resources.devices ??= []);
    const denies: typeof rules = [];
    const nodes = (s.linux.devices ??= []);
    for (const d of devices) {
      const { permissions, ...node } = d;
      const i = nodes.findIndex((n) => n.path === node.path);
      if (i >= 0) nodes.splice(i, 1);
      nodes.push(node);
      const id = { type: d.type, major: d.major, minor: d.minor };
      rules.push({ allow: true, ...id, access: permissions });
      const rest = [..."rwm"].filter((p) => !permissions.includes(p)).join("");
      if (rest !== "") denies.push({ allow: false, ...id, access: rest });
    }
    rules.push(...denies);
  };
