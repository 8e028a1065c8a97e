ALTER TABLE `containers` ADD `restart_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `containers` ADD `health` text;