/**
 * The distribution spec's error codes and the HTTP statuses they travel with. Handlers throw a
 * RegistryError; the HTTP layer turns it into `{"errors":[{code,message,detail}]}`.
 */
export const REGISTRY_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 415,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERROR_STATUS;

export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
  ) {
    super(message);
    this.name = "RegistryError";
    this.status = status ?? REGISTRY_ERROR_STATUS[code];
  }
}

export function isRegistryError(e: unknown): e is RegistryError {
  return e instanceof RegistryError;
}

/** The spec's error body. */
export function errorBody(e: RegistryError): string {
  return JSON.stringify({
    errors: [
      { code: e.code, message: e.message, ...(e.detail === undefined ? {} : { detail: e.detail }) },
    ],
  });
}
