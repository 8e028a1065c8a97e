export * from "./errors";
export * from "./ids";
export * from "./units";
export * from "./container";
export * from "./image";
export * from "./protocol";
export * from "./api";
export * from "./container-events";
