import { expect, test } from "@playwright/test";
import { pack } from "tar-stream";
import { signIn, uniqueName } from "./fixtures";

/** A context tar made here: a two-step Dockerfile and the file it copies. */
async function contextTar(): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on("data", (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => tar.on("end", resolve));
  tar.entry(
    { name: "Dockerfile" },
    'FROM busybox\nCOPY msg.txt /msg.txt\nRUN cat /msg.txt > /copy.txt\nCMD ["cat", "/copy.txt"]\n',
  );
  tar.entry({ name: "msg.txt" }, "built in the browser\n");
  tar.finalize();
  await done;
  return Buffer.concat(chunks);
}

test("builds an image from an uploaded context, shows the output, and lists it", async ({
  page,
}) => {
  const repo = uniqueName("built");
  await signIn(page, "/images");
  await page.getByRole("button", { name: "Build image" }).click();
  const dialog = page.getByRole("dialog", { name: "Build an image" });
  await dialog.getByLabel("Build context").click();
  await dialog.locator('input[type="file"]').setInputFiles({
    name: "context.tar",
    mimeType: "application/x-tar",
    buffer: await contextTar(),
  });
  await dialog.getByLabel("Tag").fill(`${repo}:v1`);
  await dialog.getByRole("button", { name: "Build", exact: true }).click();
  await expect(dialog.getByTestId("build-output")).toContainText("RUN cat /msg.txt > /copy.txt", {
    timeout: 60_000,
  });
  await expect(page.getByRole("alert").filter({ hasText: "Image built" })).toBeVisible({
    timeout: 60_000,
  });
  await dialog.getByRole("button", { name: "Close" }).click();
  const row = page
    .getByTestId("image-row")
    .filter({ has: page.getByRole("cell", { name: repo, exact: true }) });
  await expect(row).toHaveCount(1);

  // Clean up: remove the tag (the image goes with it).
  await row.getByRole("button", { name: new RegExp(`^Remove ${repo}:v1`) }).click();
  await page
    .getByRole("dialog", { name: `Remove ${repo}:v1?` })
    .getByRole("button", { name: "Remove", exact: true })
    .click();
  await expect(row).toHaveCount(0);
});
