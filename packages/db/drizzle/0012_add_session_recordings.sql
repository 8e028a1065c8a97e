CREATE TABLE `session_recordings` (
	`id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`username` text,
	`container_id` text NOT NULL,
	`container_name` text NOT NULL,
	`node_id` text NOT NULL,
	`argv` text NOT NULL,
	`tty` integer NOT NULL,
	`width` integer NOT NULL,
	`height` integer NOT NULL,
	`started_at` integer NOT NULL,
	`ended_at` integer,
	`exit_code` integer,
	`bytes` integer DEFAULT 0 NOT NULL,
	`truncated` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE INDEX `session_recordings_team_idx` ON `session_recordings` (`team_id`,`started_at`);--> statement-breakpoint
CREATE INDEX `session_recordings_started_idx` ON `session_recordings` (`started_at`);