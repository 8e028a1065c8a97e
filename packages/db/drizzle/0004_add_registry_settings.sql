CREATE TABLE `registry_repositories` (
	`name` text PRIMARY KEY NOT NULL,
	`team_id` text,
	`public` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	`last_push_at` integer,
	`last_pull_at` integer,
	`size_bytes` integer,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `registry_repositories_team_idx` ON `registry_repositories` (`team_id`);--> statement-breakpoint
ALTER TABLE `teams` ADD `registry_quota_bytes` integer;