/** The parts of the OCI runtime spec (config.json, runtime-spec 1.0.2) that Berth writes. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
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
    cgroupsPath?: string;
    resources?: {
      devices?: {
        allow: boolean;
        access?: string;
        type?: string;
        major?: number;
        minor?: number;
      }[];
      memory?: { limit?: number; swap?: number };
      pids?: { limit: number };
    };
    maskedPaths?: string[];
    readonlyPaths?: string[];
  };
  annotations?: Record<string, string>;
}

export type SpecOpt = (spec: OciSpec) => void;
