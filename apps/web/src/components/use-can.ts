"use client";
import type { Permission } from "@berth/core";
import { useMe } from "./app-frame";

/**
 * What the signed-in user may do in the team they act in, from `auth.me`'s permission set (the
 * server's `can()`; administrators hold every permission). The server checks again: this only
 * disables controls that would be refused.
 */
export function useCan(): (permission: Permission) => boolean {
  const me = useMe();
  const held = new Set<string>(me?.permissions ?? []);
  return (permission) => held.has(permission);
}

/** The tooltip of a control the caller's role does not allow. */
export const notAllowed = (permission: Permission) => `Your role does not allow ${permission}`;
