/** Account and API token shapes: password change, sign out everywhere, scoped tokens. */
import { z } from "zod";
import { PermissionSchema } from "./permissions";

export const NewPasswordSchema = z
  .string()
  .min(8, "a password needs at least 8 characters")
  .max(1024, "a password has at most 1024 characters");

export const ChangePasswordInputSchema = z.object({
  currentPassword: z.string().min(1, "the current password is required").max(1024),
  newPassword: NewPasswordSchema,
});
export type ChangePasswordInput = z.infer<typeof ChangePasswordInputSchema>;

export const LogoutEverywhereInputSchema = z
  .object({
    /** Revoke every API token too (the CLI's included). */
    tokens: z.boolean().default(false),
  })
  .default({ tokens: false });

export const ApiTokenNameSchema = z
  .string()
  .trim()
  .min(1, "name the token")
  .max(128)
  .regex(/^[\w.@:-][\w .@:-]*$/, "token names use letters, digits, spaces and _ . @ : -");

export const ApiTokenCreateInputSchema = z.object({
  name: ApiTokenNameSchema,
  /** Permissions the token is limited to (intersected with the user's); omitted: all of them. */
  scopes: z.array(PermissionSchema).min(1).max(64).optional(),
  /** Days until the token expires; omitted: never. */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export type ApiTokenCreateInput = z.input<typeof ApiTokenCreateInputSchema>;

/** A token id or its name (the user's only active token with that name). */
export const ApiTokenRefSchema = z.object({ ref: z.string().trim().min(1).max(128) });

export interface ApiTokenView {
  id: string;
  name: string;
  scopes: string[] | null;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** The cookie holding the session's CSRF token (readable by the dashboard's script). */
export const CSRF_COOKIE = "berth_csrf";
/** The header cookie-authenticated mutations must carry, equal to the CSRF cookie. */
export const CSRF_HEADER = "x-berth-csrf";
