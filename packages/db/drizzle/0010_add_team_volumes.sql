CREATE TABLE `volumes` (
	`node_id` text NOT NULL,
	`name` text NOT NULL,
	`team_id` text NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	FOREIGN KEY (`node_id`) REFERENCES `nodes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`created_by`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE set null
);
--> statement-breakpoint
CREATE UNIQUE INDEX `volumes_node_name_uq` ON `volumes` (`node_id`,`name`);--> statement-breakpoint
CREATE INDEX `volumes_team_idx` ON `volumes` (`team_id`);