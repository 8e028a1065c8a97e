CREATE TABLE `audit_anchors` (
	`seq` integer PRIMARY KEY NOT NULL,
	`hash` text NOT NULL,
	`archive` text NOT NULL,
	`archived_at` integer NOT NULL,
	`seal` text NOT NULL
);
--> statement-breakpoint
ALTER TABLE `api_tokens` ADD `scopes` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `seq` integer;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `prev_hash` text;--> statement-breakpoint
ALTER TABLE `audit_events` ADD `hash` text;--> statement-breakpoint
CREATE UNIQUE INDEX `audit_seq_uq` ON `audit_events` (`seq`);