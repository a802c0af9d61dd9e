CREATE TABLE [boot_profile_candidates] (
	[version_id] int,
	[user] nvarchar(200),
	[client_id] nvarchar(128) NOT NULL,
	[chunks] nvarchar(max) NOT NULL,
	[chunk_count] int NOT NULL,
	[end_reason] varchar(16) NOT NULL,
	[duration_ms] bigint NOT NULL,
	[submitted_at] bigint NOT NULL,
	CONSTRAINT [boot_profile_candidates_pkey] PRIMARY KEY([version_id],[user])
);
--> statement-breakpoint
CREATE TABLE [boot_profiles] (
	[version_id] int,
	[source] varchar(8) NOT NULL,
	[document] varbinary(max) NOT NULL,
	[chunk_count] int NOT NULL,
	[published_at] bigint NOT NULL,
	[published_by] nvarchar(200) NOT NULL,
	CONSTRAINT [boot_profiles_pkey] PRIMARY KEY([version_id])
);
--> statement-breakpoint
ALTER TABLE [boot_profile_candidates] ADD CONSTRAINT [boot_profile_candidates_version_id_versions_id_fk] FOREIGN KEY ([version_id]) REFERENCES [versions]([id]) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE [boot_profiles] ADD CONSTRAINT [boot_profiles_version_id_versions_id_fk] FOREIGN KEY ([version_id]) REFERENCES [versions]([id]) ON DELETE CASCADE;