/** The parts of the OCI runtime spec (config.json, runtime-spec 1.0.2) that Berth writes. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

/** linux.resources: what runc writes to the container's cgroups (and takes in `runc update`). */
export interface OciResources {
  devices?: {
    allow: boolean;
    access?: string;
    type?: string;
    major?: number;
    minor?: number;
  }[];
  memory?: { limit?: number; reservation?: number; swap?: number };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    cpus?: string;
    mems?: string;
  };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

/** linux.devices[]: a node runc creates (mknod, or a bind mount in a user namespace). */
export interface OciDevice {
  path: string;
  type: "c" | "b";
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: {
      bounding: string[];
      effective: string[];
      permitted: string[];
      inheritable?: string[];
      ambient?: string[];
    };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    cgroupsPath?: string;
    /** Device nodes runc creates in the container's /dev (`--device`). */
    devices?: OciDevice[];
    resources?: OciResources;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: OciSeccomp;
  };
  annotations?: Record<string, string>;
}

/** linux.seccomp (runtime-spec 1.0.2 + errnoRet/defaultErrnoRet, which runc 1.1 supports). */
export interface OciSeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}
export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  syscalls?: OciSeccompRule[];
  [key: string]: unknown;
}

export type SpecOpt = (spec: OciSpec) => void;
