CREATE TABLE `client_images` (
	`client_id` text(128) NOT NULL,
	`image` text(200) NOT NULL,
	`version` integer NOT NULL,
	`held_since` integer NOT NULL,
	`policy` text DEFAULT '' NOT NULL,
	`policy_updated_at` integer,
	`updated_at` integer NOT NULL,
	CONSTRAINT `client_images_pk` PRIMARY KEY(`client_id`, `image`),
	CONSTRAINT `fk_client_images_client_id_clients_id_fk` FOREIGN KEY (`client_id`) REFERENCES `clients`(`id`) ON DELETE CASCADE
);
--> statement-breakpoint
CREATE TABLE `offload_daily` (
	`day` integer NOT NULL,
	`site` text(100) NOT NULL,
	`image` text(200) NOT NULL,
	`pulls` integer NOT NULL,
	`origin_bytes` integer NOT NULL,
	`peer_bytes` integer NOT NULL,
	`local_bytes` integer NOT NULL,
	`decoded_origin_bytes` integer NOT NULL,
	`decoded_peer_bytes` integer NOT NULL,
	CONSTRAINT `offload_daily_pk` PRIMARY KEY(`day`, `site`, `image`)
);
--> statement-breakpoint
CREATE TABLE `offload_reasons` (
	`day` integer NOT NULL,
	`site` text(100) NOT NULL,
	`image` text(200) NOT NULL,
	`reason` text(32) NOT NULL,
	`bytes` integer NOT NULL,
	CONSTRAINT `offload_reasons_pk` PRIMARY KEY(`day`, `site`, `image`, `reason`)
);
--> statement-breakpoint
CREATE TABLE `usage_counters` (
	`key` text(300) NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL,
	CONSTRAINT `usage_counters_pk` PRIMARY KEY(`key`, `window_start`)
);
--> statement-breakpoint
ALTER TABLE `clients` ADD `os` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `clients` ADD `online_since` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `clients` ADD `pull_image` text;--> statement-breakpoint
ALTER TABLE `clients` ADD `pull_version` integer;--> statement-breakpoint
ALTER TABLE `clients` ADD `pull_permille` integer;--> statement-breakpoint
ALTER TABLE `clients` ADD `workspace` text;--> statement-breakpoint
ALTER TABLE `events` ADD `site` text(100) DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `events` ADD `host` text(255) DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `events` ADD `image` text(200) DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `client_images_image_idx` ON `client_images` (`image`,`version`);--> statement-breakpoint
CREATE INDEX `clients_site_seen_idx` ON `clients` (`site`,`last_seen_at`);--> statement-breakpoint
CREATE INDEX `clients_seen_idx` ON `clients` (`last_seen_at`);--> statement-breakpoint
CREATE INDEX `events_site_at_idx` ON `events` (`site`,`at`);--> statement-breakpoint
CREATE INDEX `usage_counters_window_idx` ON `usage_counters` (`window_start`);