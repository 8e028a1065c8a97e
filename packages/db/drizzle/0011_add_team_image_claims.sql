CREATE TABLE `image_claims` (
	`node_id` text NOT NULL,
	`team_id` text NOT NULL,
	`ref` text NOT NULL,
	`digest` text NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `image_claims_node_team_ref_digest_uq` ON `image_claims` (`node_id`,`team_id`,`ref`,`digest`);--> statement-breakpoint
CREATE INDEX `image_claims_node_digest_idx` ON `image_claims` (`node_id`,`digest`);--> statement-breakpoint
CREATE INDEX `image_claims_team_idx` ON `image_claims` (`team_id`);