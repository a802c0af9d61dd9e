CREATE TABLE [client_images] (
	[client_id] varchar(128),
	[image] nvarchar(200),
	[version] int NOT NULL,
	[held_since] bigint NOT NULL,
	[policy] nvarchar(200) NOT NULL CONSTRAINT [client_images_policy_default] DEFAULT (''),
	[policy_updated_at] bigint,
	[updated_at] bigint NOT NULL,
	CONSTRAINT [client_images_pkey] PRIMARY KEY([client_id],[image])
);
--> statement-breakpoint
CREATE TABLE [offload_daily] (
	[day] bigint,
	[site] nvarchar(100),
	[image] nvarchar(200),
	[pulls] int NOT NULL,
	[origin_bytes] bigint NOT NULL,
	[peer_bytes] bigint NOT NULL,
	[local_bytes] bigint NOT NULL,
	[decoded_origin_bytes] bigint NOT NULL,
	[decoded_peer_bytes] bigint NOT NULL,
	CONSTRAINT [offload_daily_pkey] PRIMARY KEY([day],[site],[image])
);
--> statement-breakpoint
CREATE TABLE [offload_reasons] (
	[day] bigint,
	[site] nvarchar(100),
	[image] nvarchar(200),
	[reason] nvarchar(32),
	[bytes] bigint NOT NULL,
	CONSTRAINT [offload_reasons_pkey] PRIMARY KEY([day],[site],[image],[reason])
);
--> statement-breakpoint
CREATE TABLE [usage_counters] (
	[key] nvarchar(300),
	[window_start] bigint,
	[count] bigint NOT NULL,
	CONSTRAINT [usage_counters_pkey] PRIMARY KEY([key],[window_start])
);
--> statement-breakpoint
ALTER TABLE [clients] ADD [os] nvarchar(100) NOT NULL CONSTRAINT [clients_os_default] DEFAULT ('');--> statement-breakpoint
ALTER TABLE [clients] ADD [online_since] bigint NOT NULL CONSTRAINT [clients_online_since_default] DEFAULT ((0));--> statement-breakpoint
ALTER TABLE [clients] ADD [pull_image] nvarchar(200);--> statement-breakpoint
ALTER TABLE [clients] ADD [pull_version] int;--> statement-breakpoint
ALTER TABLE [clients] ADD [pull_permille] int;--> statement-breakpoint
ALTER TABLE [clients] ADD [workspace] nvarchar(max);--> statement-breakpoint
ALTER TABLE [events] ADD [site] nvarchar(100) NOT NULL CONSTRAINT [events_site_default] DEFAULT ('');--> statement-breakpoint
ALTER TABLE [events] ADD [host] nvarchar(255) NOT NULL CONSTRAINT [events_host_default] DEFAULT ('');--> statement-breakpoint
ALTER TABLE [events] ADD [image] nvarchar(200) NOT NULL CONSTRAINT [events_image_default] DEFAULT ('');--> statement-breakpoint
ALTER TABLE [client_images] ADD CONSTRAINT [client_images_client_id_clients_id_fk] FOREIGN KEY ([client_id]) REFERENCES [clients]([id]) ON DELETE CASCADE;--> statement-breakpoint
CREATE INDEX [client_images_image_idx] ON [client_images] ([image],[version]);--> statement-breakpoint
CREATE INDEX [clients_site_seen_idx] ON [clients] ([site],[last_seen_at]);--> statement-breakpoint
CREATE INDEX [clients_seen_idx] ON [clients] ([last_seen_at]);--> statement-breakpoint
CREATE INDEX [events_site_at_idx] ON [events] ([site],[at]);--> statement-breakpoint
CREATE INDEX [usage_counters_window_idx] ON [usage_counters] ([window_start]);