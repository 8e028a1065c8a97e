CREATE TABLE `container_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`team_id` text NOT NULL,
	`container_id` text NOT NULL,
	`container_name` text NOT NULL,
	`image` text NOT NULL,
	`node_id` text NOT NULL,
	`node_name` text NOT NULL,
	`action` text NOT NULL,
	`exit_code` integer
);
--> statement-breakpoint
CREATE INDEX `container_events_team_at_idx` ON `container_events` (`team_id`,`at`);--> statement-breakpoint
CREATE INDEX `container_events_at_idx` ON `container_events` (`at`);