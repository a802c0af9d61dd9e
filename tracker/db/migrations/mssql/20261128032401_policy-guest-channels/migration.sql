ALTER TABLE [policies] ADD [workspace_mode] nvarchar(16) NOT NULL CONSTRAINT [policies_workspace_mode_default] DEFAULT ('persistent');--> statement-breakpoint
ALTER TABLE [policies] ADD [clipboard] nvarchar(16) NOT NULL CONSTRAINT [policies_clipboard_default] DEFAULT ('off');--> statement-breakpoint
ALTER TABLE [policies] ADD [file_transfer] nvarchar(16) NOT NULL CONSTRAINT [policies_file_transfer_default] DEFAULT ('off');--> statement-breakpoint
ALTER TABLE [policies] ADD [file_transfer_extensions] nvarchar(max) NOT NULL CONSTRAINT [policies_file_transfer_extensions_default] DEFAULT ('[]');--> statement-breakpoint
ALTER TABLE [policies] ADD [printing] bit NOT NULL CONSTRAINT [policies_printing_default] DEFAULT ((0));--> statement-breakpoint
ALTER TABLE [policies] ADD [idle_lock_minutes] int;--> statement-breakpoint
ALTER TABLE [policies] ADD [lock_on_suspend] bit NOT NULL CONSTRAINT [policies_lock_on_suspend_default] DEFAULT ((1));