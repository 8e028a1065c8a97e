"use client";
import { notifications } from "@mantine/notifications";
import { useMutation, type UseMutationOptions } from "@tanstack/react-query";
import { errorMessage } from "@/lib/errors";

export interface MutationNotices<TData, TVariables> {
  /** The green notification after success. */
  success: (data: TData, input: TVariables) => { title: string; message: string };
  /** Runs after the success notification (reset a form, close the dialog…). */
  then?: (data: TData, input: TVariables) => void;
  /** Title of the red notification; its message is the server's error message. */
  errorTitle: string | ((input: TVariables) => string);
  /** Runs once the mutation settles either way (typically: invalidate the lists it changes). */
  refresh: () => void;
}

/**
 * A mutation whose outcome is shown as a notification: green with `success(...)`, or red with
 * `errorTitle` and the server's message; `refresh` runs when it settles either way.
 */
export function useNotifyingMutation<TData, TError, TVariables, TContext>(
  options: UseMutationOptions<TData, TError, TVariables, TContext>,
  notices: MutationNotices<TData, TVariables>,
) {
  return useMutation({
    ...options,
    // tRPC's own onSuccess (its global override hook) still runs, after the notification.
    onSuccess: (...args) => {
      const [data, input] = args;
      notifications.show({ color: "green", ...notices.success(data, input) });
      notices.then?.(data, input);
      return options.onSuccess?.(...args);
    },
    onError: (...args) => {
      const [err, input] = args;
      notifications.show({
        color: "red",
        title:
          typeof notices.errorTitle === "string" ? notices.errorTitle : notices.errorTitle(input),
        message: errorMessage(err),
      });
      return options.onError?.(...args);
    },
    onSettled: (...args) => {
      notices.refresh();
      return options.onSettled?.(...args);
    },
  });
}
