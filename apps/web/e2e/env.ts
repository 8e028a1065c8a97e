/** Settings shared by playwright.config.ts, the specs and the teardown. */
export const port = Number(process.env.BERTH_E2E_PORT ?? 38417);
export const baseURL = `http://127.0.0.1:${port}`;
export const adminUser = "admin";
export const adminPassword = "e2e-admin-pass";
/** The e2e agent's bridge/veth/iptables prefix: never a real agent's `berth`. */
export const networkPrefix = "bnetoe";
