/**
 * Injected by build.mjs in place of the global `FormData` inside the bundle only.
 *
 * tRPC's links test every request body with `input instanceof FormData`; in Node 20 the first
 * touch of the global `FormData` loads undici, which costs ~20 ms of every `berth` command. The
 * CLI never sends form data, so inside the bundle `FormData` is this class, which nothing is an
 * instance of. The process's real global is left untouched.
 */
export class FormData {}
