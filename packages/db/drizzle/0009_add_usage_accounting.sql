CREATE TABLE `usage_attribution` (
	`container_id` text PRIMARY KEY NOT NULL,
	`container_name` text NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`node_id` text NOT NULL,
	`pool_id` text,
	`labels` text DEFAULT '{}' NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_budgets` (
	`team_id` text PRIMARY KEY NOT NULL,
	`monthly_micro_amount` integer NOT NULL,
	`thresholds` text NOT NULL,
	`webhook_url` text,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `usage_container_state` (
	`container_id` text PRIMARY KEY NOT NULL,
	`epoch` text NOT NULL,
	`at` integer NOT NULL,
	`cpu_ns` integer NOT NULL,
	`mem_bytes` integer NOT NULL,
	`mem_byte_sec` integer NOT NULL,
	`blk_read_bytes` integer NOT NULL,
	`blk_write_bytes` integer NOT NULL,
	`net_rx_bytes` integer NOT NULL,
	`net_tx_bytes` integer NOT NULL,
	`final` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_cursors` (
	`node_id` text PRIMARY KEY NOT NULL,
	`acked_seq` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_hour` (
	`bucket` integer NOT NULL,
	`container_id` text NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`node_id` text NOT NULL,
	`pool_id` text,
	`labels` text DEFAULT '{}' NOT NULL,
	`cpu_ns` integer DEFAULT 0 NOT NULL,
	`mem_byte_sec` integer DEFAULT 0 NOT NULL,
	`mem_alloc_byte_sec` integer DEFAULT 0 NOT NULL,
	`net_rx_bytes` integer DEFAULT 0 NOT NULL,
	`net_tx_bytes` integer DEFAULT 0 NOT NULL,
	`blk_read_bytes` integer DEFAULT 0 NOT NULL,
	`blk_write_bytes` integer DEFAULT 0 NOT NULL,
	`run_ms` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`bucket`, `container_id`)
);
--> statement-breakpoint
CREATE INDEX `usage_hour_team_bucket_idx` ON `usage_hour` (`team_id`,`bucket`);--> statement-breakpoint
CREATE TABLE `usage_minute` (
	`bucket` integer NOT NULL,
	`container_id` text NOT NULL,
	`team_id` text NOT NULL,
	`user_id` text,
	`node_id` text NOT NULL,
	`pool_id` text,
	`labels` text DEFAULT '{}' NOT NULL,
	`cpu_ns` integer DEFAULT 0 NOT NULL,
	`mem_byte_sec` integer DEFAULT 0 NOT NULL,
	`mem_alloc_byte_sec` integer DEFAULT 0 NOT NULL,
	`net_rx_bytes` integer DEFAULT 0 NOT NULL,
	`net_tx_bytes` integer DEFAULT 0 NOT NULL,
	`blk_read_bytes` integer DEFAULT 0 NOT NULL,
	`blk_write_bytes` integer DEFAULT 0 NOT NULL,
	`run_ms` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`bucket`, `container_id`)
);
--> statement-breakpoint
CREATE INDEX `usage_minute_team_bucket_idx` ON `usage_minute` (`team_id`,`bucket`);--> statement-breakpoint
CREATE TABLE `usage_notifications` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`team_id` text NOT NULL,
	`month` text NOT NULL,
	`threshold` integer NOT NULL,
	`spent_micro` integer NOT NULL,
	`budget_micro` integer NOT NULL,
	`webhook_result` text,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `usage_notifications_uq` ON `usage_notifications` (`team_id`,`month`,`threshold`);--> statement-breakpoint
CREATE TABLE `usage_prices` (
	`unit` text NOT NULL,
	`pool_id` text DEFAULT '' NOT NULL,
	`micro_price` integer NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	PRIMARY KEY(`unit`, `pool_id`)
);
