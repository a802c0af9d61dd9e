ALTER TABLE `policies` ADD `workspace_mode` text DEFAULT 'persistent' NOT NULL;--> statement-breakpoint
ALTER TABLE `policies` ADD `clipboard` text DEFAULT 'off' NOT NULL;--> statement-breakpoint
ALTER TABLE `policies` ADD `file_transfer` text DEFAULT 'off' NOT NULL;--> statement-breakpoint
ALTER TABLE `policies` ADD `file_transfer_extensions` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `policies` ADD `printing` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `policies` ADD `idle_lock_minutes` integer;--> statement-breakpoint
ALTER TABLE `policies` ADD `lock_on_suspend` integer DEFAULT true NOT NULL;