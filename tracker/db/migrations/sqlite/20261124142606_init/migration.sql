CREATE TABLE `api_tokens` (
	`id` integer PRIMARY KEY AUTOINCREMENT,
	`token_hash` text(64) NOT NULL,
	`user` text NOT NULL,
	`groups` text DEFAULT '[]' NOT NULL,
	`is_admin` integer DEFAULT false NOT NULL,
	`kind` text NOT NULL,
	`label` text DEFAULT '' NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`revoked_at` integer,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE TABLE `assignments` (
	`id` integer PRIMARY KEY AUTOINCREMENT,
	`policy_id` integer NOT NULL,
	`subject_kind` text NOT NULL,
	`subject` text NOT NULL,
	`created_at` integer NOT NULL,
	CONSTRAINT `fk_assignments_policy_id_policies_id_fk` FOREIGN KEY (`policy_id`) REFERENCES `policies`(`id`) ON DELETE CASCADE
);
--> statement-breakpoint
CREATE TABLE `clients` (
	`id` text(128) PRIMARY KEY,
	`user` text NOT NULL,
	`hostname` text DEFAULT '' NOT NULL,
	`site` text DEFAULT '' NOT NULL,
	`agent_version` text DEFAULT '' NOT NULL,
	`last_seen_at` integer NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` text(64) PRIMARY KEY,
	`client_id` text(128) NOT NULL,
	`user` text NOT NULL,
	`type` text(100) NOT NULL,
	`at` integer NOT NULL,
	`received_at` integer NOT NULL,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `images` (
	`id` integer PRIMARY KEY AUTOINCREMENT,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`last_version` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `policies` (
	`id` integer PRIMARY KEY AUTOINCREMENT,
	`name` text NOT NULL,
	`image_name` text NOT NULL,
	`pinned_version` integer,
	`expires_at` integer,
	`offline_grace_seconds` integer NOT NULL,
	`p2p_allowed` integer NOT NULL,
	`origin_rate_bytes_per_sec` integer,
	`download_window_start` integer,
	`download_window_end` integer,
	`vm_memory_mb` integer NOT NULL,
	`vm_cpus` integer NOT NULL,
	`published_apps` text NOT NULL,
	`startup` text NOT NULL,
	`priority` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `swarm_members` (
	`image` text(200) NOT NULL,
	`version` integer NOT NULL,
	`peer_id` text(128) NOT NULL,
	`client_id` text(128) NOT NULL,
	`site` text(200) NOT NULL,
	`addrs` text NOT NULL,
	`have` blob NOT NULL,
	`have_count` integer NOT NULL,
	`joined_at` integer NOT NULL,
	`announced_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	CONSTRAINT `swarm_members_pk` PRIMARY KEY(`image`, `version`, `peer_id`)
);
--> statement-breakpoint
CREATE TABLE `uploads` (
	`id` text(64) PRIMARY KEY,
	`image_name` text NOT NULL,
	`started_at` integer NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `version_chunks` (
	`version_id` integer NOT NULL,
	`chunk_id` text(64) NOT NULL,
	CONSTRAINT `version_chunks_pk` PRIMARY KEY(`version_id`, `chunk_id`),
	CONSTRAINT `fk_version_chunks_version_id_versions_id_fk` FOREIGN KEY (`version_id`) REFERENCES `versions`(`id`) ON DELETE CASCADE
);
--> statement-breakpoint
CREATE TABLE `versions` (
	`id` integer PRIMARY KEY AUTOINCREMENT,
	`image_id` integer NOT NULL,
	`number` integer NOT NULL,
	`state` text NOT NULL,
	`manifest_root` blob,
	`manifest_id` text(64),
	`total_bytes` integer DEFAULT 0 NOT NULL,
	`chunk_count` integer DEFAULT 0 NOT NULL,
	`new_bytes` integer DEFAULT 0 NOT NULL,
	`source_of` integer,
	`upload_id` text(64),
	`created_at` integer NOT NULL,
	`published_at` integer,
	`retired_at` integer,
	`expires_at` integer,
	`created_by` text NOT NULL,
	CONSTRAINT `fk_versions_image_id_images_id_fk` FOREIGN KEY (`image_id`) REFERENCES `images`(`id`) ON DELETE CASCADE
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_tokens_hash_uq` ON `api_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `api_tokens_user_idx` ON `api_tokens` (`user`);--> statement-breakpoint
CREATE UNIQUE INDEX `assignments_policy_subject_uq` ON `assignments` (`policy_id`,`subject_kind`,`subject`);--> statement-breakpoint
CREATE INDEX `assignments_subject_idx` ON `assignments` (`subject_kind`,`subject`);--> statement-breakpoint
CREATE INDEX `clients_user_idx` ON `clients` (`user`);--> statement-breakpoint
CREATE INDEX `events_type_at_idx` ON `events` (`type`,`at`);--> statement-breakpoint
CREATE INDEX `events_client_at_idx` ON `events` (`client_id`,`at`);--> statement-breakpoint
CREATE INDEX `events_at_idx` ON `events` (`at`);--> statement-breakpoint
CREATE UNIQUE INDEX `images_name_uq` ON `images` (`name`);--> statement-breakpoint
CREATE UNIQUE INDEX `policies_name_uq` ON `policies` (`name`);--> statement-breakpoint
CREATE INDEX `policies_image_idx` ON `policies` (`image_name`);--> statement-breakpoint
CREATE INDEX `swarm_site_join_idx` ON `swarm_members` (`image`,`version`,`site`,`joined_at`);--> statement-breakpoint
CREATE INDEX `swarm_expires_idx` ON `swarm_members` (`expires_at`);--> statement-breakpoint
CREATE INDEX `version_chunks_chunk_idx` ON `version_chunks` (`chunk_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `versions_image_number_uq` ON `versions` (`image_id`,`number`);--> statement-breakpoint
CREATE INDEX `versions_state_idx` ON `versions` (`state`);