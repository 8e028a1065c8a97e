"use client";
import {
  Alert,
  Button,
  Center,
  Group,
  Paper,
  PasswordInput,
  Stack,
  TextInput,
  Title,
} from "@mantine/core";
import { IconAlertCircle, IconShip } from "@tabler/icons-react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter, useSearchParams } from "next/navigation";
import { Suspense, useEffect, useState, type FormEvent } from "react";
import { LoginInputSchema } from "@berth/core";
import { LoadingState } from "@/components/query-state";
import { errorInfo } from "@/lib/errors";
import { safeNextPath } from "@/lib/next-path";
import { useTRPC } from "@/lib/trpc";

function LoginForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const next = safeNextPath(useSearchParams().get("next"));
  const me = useQuery(trpc.auth.me.queryOptions(undefined, { retry: false }));
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [fieldErrors, setFieldErrors] = useState<{ username?: string; password?: string }>({});
  const [formError, setFormError] = useState<string | null>(null);

  useEffect(() => {
    if (me.data) router.replace(next);
  }, [me.data, next, router]);

  const login = useMutation(
    trpc.auth.login.mutationOptions({
      onSuccess: async () => {
        // `me` carries the team role, which login's answer does not: fetch it before leaving.
        await queryClient.refetchQueries({ queryKey: trpc.auth.me.queryKey() });
        router.replace(next);
      },
      onError: (err) => {
        const info = errorInfo(err);
        setFormError(
          info.code === "UNAUTHORIZED" || info.kind === "unauthenticated"
            ? "Invalid username or password"
            : info.message,
        );
      },
    }),
  );

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const parsed = LoginInputSchema.safeParse({ username: username.trim(), password });
    if (!parsed.success) {
      const errs: typeof fieldErrors = {};
      for (const issue of parsed.error.issues) {
        const k = issue.path[0];
        if ((k === "username" || k === "password") && !errs[k]) errs[k] = issue.message;
      }
      setFieldErrors(errs);
      return;
    }
    setFieldErrors({});
    login.mutate(parsed.data);
  }

  if (me.data) return <LoadingState label="Signed in, redirecting…" />;

  return (
    <Paper
      withBorder
      shadow="sm"
      p="xl"
      radius="md"
      w={360}
      component="form"
      onSubmit={onSubmit}
      noValidate
      aria-label="Sign in"
    >
      <Stack>
        <Group gap="xs" justify="center">
          <IconShip aria-hidden />
          <Title order={2}>Sign in to Berth</Title>
        </Group>
        {formError && (
          <Alert
            color="red"
            icon={<IconAlertCircle aria-hidden />}
            role="alert"
            data-testid="login-error"
          >
            {formError}
          </Alert>
        )}
        <TextInput
          label="Username"
          name="username"
          autoComplete="username"
          autoFocus
          required
          value={username}
          onChange={(e) => setUsername(e.currentTarget.value)}
          error={fieldErrors.username}
        />
        <PasswordInput
          label="Password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
          error={fieldErrors.password}
        />
        <Button type="submit" loading={login.isPending} fullWidth>
          Sign in
        </Button>
      </Stack>
    </Paper>
  );
}

export default function LoginPage() {
  return (
    <Center mih="100vh" p="md">
      <Suspense fallback={<LoadingState label="Loading…" />}>
        <LoginForm />
      </Suspense>
    </Center>
  );
}
