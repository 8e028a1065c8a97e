CREATE TABLE `pool_grants` (
	`pool_id` text NOT NULL,
	`team_id` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	PRIMARY KEY(`pool_id`, `team_id`),
	FOREIGN KEY (`pool_id`) REFERENCES `pools`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `pool_grants_team_idx` ON `pool_grants` (`team_id`);--> statement-breakpoint
CREATE TABLE `pools` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `pools_name_uq` ON `pools` (`name`);--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `max_uses` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `uses` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `pool_id` text REFERENCES pools(id);--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `labels` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `join_tokens` ADD `revoked_at` integer;--> statement-breakpoint
ALTER TABLE `nodes` ADD `labels` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `nodes` ADD `pool_id` text REFERENCES pools(id);--> statement-breakpoint
ALTER TABLE `nodes` ADD `cordoned` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `nodes` ADD `agent_version` text;