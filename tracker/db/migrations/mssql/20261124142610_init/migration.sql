CREATE TABLE [api_tokens] (
	[id] int IDENTITY(1, 1),
	[token_hash] char(64) NOT NULL,
	[user] nvarchar(200) NOT NULL,
	[groups] nvarchar(max) NOT NULL CONSTRAINT [api_tokens_groups_default] DEFAULT ('[]'),
	[is_admin] bit NOT NULL CONSTRAINT [api_tokens_is_admin_default] DEFAULT ((0)),
	[kind] varchar(16) NOT NULL,
	[label] nvarchar(400) NOT NULL CONSTRAINT [api_tokens_label_default] DEFAULT (''),
	[created_at] bigint NOT NULL,
	[expires_at] bigint,
	[revoked_at] bigint,
	[last_used_at] bigint,
	CONSTRAINT [api_tokens_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [assignments] (
	[id] int IDENTITY(1, 1),
	[policy_id] int NOT NULL,
	[subject_kind] varchar(16) NOT NULL,
	[subject] nvarchar(200) NOT NULL,
	[created_at] bigint NOT NULL,
	CONSTRAINT [assignments_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [clients] (
	[id] varchar(128),
	[user] nvarchar(200) NOT NULL,
	[hostname] nvarchar(255) NOT NULL CONSTRAINT [clients_hostname_default] DEFAULT (''),
	[site] nvarchar(200) NOT NULL CONSTRAINT [clients_site_default] DEFAULT (''),
	[agent_version] nvarchar(64) NOT NULL CONSTRAINT [clients_agent_version_default] DEFAULT (''),
	[last_seen_at] bigint NOT NULL,
	[created_at] bigint NOT NULL,
	CONSTRAINT [clients_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [events] (
	[id] varchar(64),
	[client_id] varchar(128) NOT NULL,
	[user] nvarchar(200) NOT NULL,
	[type] varchar(100) NOT NULL,
	[at] bigint NOT NULL,
	[received_at] bigint NOT NULL,
	[payload] nvarchar(max) NOT NULL,
	CONSTRAINT [events_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [images] (
	[id] int IDENTITY(1, 1),
	[name] nvarchar(200) NOT NULL,
	[description] nvarchar(max) NOT NULL CONSTRAINT [images_description_default] DEFAULT (''),
	[last_version] int NOT NULL CONSTRAINT [images_last_version_default] DEFAULT ((0)),
	[created_at] bigint NOT NULL,
	CONSTRAINT [images_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [policies] (
	[id] int IDENTITY(1, 1),
	[name] nvarchar(200) NOT NULL,
	[image_name] nvarchar(200) NOT NULL,
	[pinned_version] int,
	[expires_at] bigint,
	[offline_grace_seconds] int NOT NULL,
	[p2p_allowed] bit NOT NULL,
	[origin_rate_bytes_per_sec] bigint,
	[download_window_start] int,
	[download_window_end] int,
	[vm_memory_mb] int NOT NULL,
	[vm_cpus] int NOT NULL,
	[published_apps] nvarchar(max) NOT NULL,
	[startup] nvarchar(max) NOT NULL,
	[priority] int NOT NULL CONSTRAINT [policies_priority_default] DEFAULT ((0)),
	[created_at] bigint NOT NULL,
	[updated_at] bigint NOT NULL,
	CONSTRAINT [policies_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [swarm_members] (
	[image] nvarchar(200),
	[version] int,
	[peer_id] varchar(128),
	[client_id] varchar(128) NOT NULL,
	[site] nvarchar(200) NOT NULL,
	[addrs] nvarchar(max) NOT NULL,
	[have] varbinary(max) NOT NULL,
	[have_count] int NOT NULL,
	[joined_at] bigint NOT NULL,
	[announced_at] bigint NOT NULL,
	[expires_at] bigint NOT NULL,
	CONSTRAINT [swarm_members_pkey] PRIMARY KEY([image],[version],[peer_id])
);
--> statement-breakpoint
CREATE TABLE [uploads] (
	[id] varchar(64),
	[image_name] nvarchar(200) NOT NULL,
	[started_at] bigint NOT NULL,
	[heartbeat_at] bigint NOT NULL,
	[expires_at] bigint NOT NULL,
	CONSTRAINT [uploads_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
CREATE TABLE [version_chunks] (
	[version_id] int,
	[chunk_id] char(64),
	CONSTRAINT [version_chunks_pkey] PRIMARY KEY([version_id],[chunk_id])
);
--> statement-breakpoint
CREATE TABLE [versions] (
	[id] int IDENTITY(1, 1),
	[image_id] int NOT NULL,
	[number] int NOT NULL,
	[state] varchar(16) NOT NULL,
	[manifest_root] varbinary(max),
	[manifest_id] char(64),
	[total_bytes] bigint NOT NULL CONSTRAINT [versions_total_bytes_default] DEFAULT ((0)),
	[chunk_count] bigint NOT NULL CONSTRAINT [versions_chunk_count_default] DEFAULT ((0)),
	[new_bytes] bigint NOT NULL CONSTRAINT [versions_new_bytes_default] DEFAULT ((0)),
	[source_of] int,
	[upload_id] varchar(64),
	[created_at] bigint NOT NULL,
	[published_at] bigint,
	[retired_at] bigint,
	[expires_at] bigint,
	[created_by] nvarchar(200) NOT NULL,
	CONSTRAINT [versions_pkey] PRIMARY KEY([id])
);
--> statement-breakpoint
ALTER TABLE [assignments] ADD CONSTRAINT [assignments_policy_id_policies_id_fk] FOREIGN KEY ([policy_id]) REFERENCES [policies]([id]) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE [version_chunks] ADD CONSTRAINT [version_chunks_version_id_versions_id_fk] FOREIGN KEY ([version_id]) REFERENCES [versions]([id]) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE [versions] ADD CONSTRAINT [versions_image_id_images_id_fk] FOREIGN KEY ([image_id]) REFERENCES [images]([id]) ON DELETE CASCADE;--> statement-breakpoint
CREATE UNIQUE INDEX [api_tokens_hash_uq] ON [api_tokens] ([token_hash]);--> statement-breakpoint
CREATE INDEX [api_tokens_user_idx] ON [api_tokens] ([user]);--> statement-breakpoint
CREATE UNIQUE INDEX [assignments_policy_subject_uq] ON [assignments] ([policy_id],[subject_kind],[subject]);--> statement-breakpoint
CREATE INDEX [assignments_subject_idx] ON [assignments] ([subject_kind],[subject]);--> statement-breakpoint
CREATE INDEX [clients_user_idx] ON [clients] ([user]);--> statement-breakpoint
CREATE INDEX [events_type_at_idx] ON [events] ([type],[at]);--> statement-breakpoint
CREATE INDEX [events_client_at_idx] ON [events] ([client_id],[at]);--> statement-breakpoint
CREATE INDEX [events_at_idx] ON [events] ([at]);--> statement-breakpoint
CREATE UNIQUE INDEX [images_name_uq] ON [images] ([name]);--> statement-breakpoint
CREATE UNIQUE INDEX [policies_name_uq] ON [policies] ([name]);--> statement-breakpoint
CREATE INDEX [policies_image_idx] ON [policies] ([image_name]);--> statement-breakpoint
CREATE INDEX [swarm_site_join_idx] ON [swarm_members] ([image],[version],[site],[joined_at]);--> statement-breakpoint
CREATE INDEX [swarm_expires_idx] ON [swarm_members] ([expires_at]);--> statement-breakpoint
CREATE INDEX [version_chunks_chunk_idx] ON [version_chunks] ([chunk_id]);--> statement-breakpoint
CREATE UNIQUE INDEX [versions_image_number_uq] ON [versions] ([image_id],[number]);--> statement-breakpoint
CREATE INDEX [versions_state_idx] ON [versions] ([state]);