CREATE TABLE `boot_profile_candidates` (
	`version_id` integer NOT NULL,
	`user` text NOT NULL,
	`client_id` text(128) NOT NULL,
	`chunks` text NOT NULL,
	`chunk_count` integer NOT NULL,
	`end_reason` text(16) NOT NULL,
	`duration_ms` integer NOT NULL,
	`submitted_at` integer NOT NULL,
	CONSTRAINT `boot_profile_candidates_pk` PRIMARY KEY(`version_id`, `user`),
	CONSTRAINT `fk_boot_profile_candidates_version_id_versions_id_fk` FOREIGN KEY (`version_id`) REFERENCES `versions`(`id`) ON DELETE CASCADE
);
--> statement-breakpoint
CREATE TABLE `boot_profiles` (
	`version_id` integer PRIMARY KEY,
	`source` text(8) NOT NULL,
	`document` blob NOT NULL,
	`chunk_count` integer NOT NULL,
	`published_at` integer NOT NULL,
	`published_by` text NOT NULL,
	CONSTRAINT `fk_boot_profiles_version_id_versions_id_fk` FOREIGN KEY (`version_id`) REFERENCES `versions`(`id`) ON DELETE CASCADE
);
