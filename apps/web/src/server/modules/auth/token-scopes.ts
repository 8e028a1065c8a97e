/** Tokens made by a scoped token stay within its scopes (no escalation through token creation). */
import { DomainError, type ApiTokenCreateInput, type Permission } from "@berth/core";

export function narrowScopes(
  callerScopes: readonly Permission[] | null | undefined,
  input: ApiTokenCreateInput,
): ApiTokenCreateInput {
  if (!callerScopes) return input;
  if (!input.scopes) return { ...input, scopes: [...callerScopes] };
  const outside = input.scopes.filter((p) => !callerScopes.includes(p));
  if (outside.length > 0)
    throw new DomainError(
      "forbidden",
      `this token may not grant ${outside.join(", ")}: it is limited to ${callerScopes.join(", ")}`,
    );
  return input;
}
