/** Limits of desktop integration (node/desktop/), with why. */

/** The folder of ours under `$XDG_DATA_HOME/applications`: desktop ids become `branchcast-<image>-<app>.desktop`. */
export const APPLICATIONS_SUBDIR = 'branchcast'
/** Characters of an application's name kept in its file name (the rest is in its hash). */
export const MAX_APP_SLUG_CHARS = 40
/** Hex digits of the name's SHA-256 in its file name: two names that slug alike stay apart. */
export const APP_NAME_HASH_HEX = 12
/**
 * A decoded icon larger than this is not written (the policy caps the data URL at 16 KiB
 * of text, so this is a second fence, not a limit anyone meets).
 */
export const MAX_ICON_BYTES = 16 * 1024
/** The icon an application gets when its policy names none we can show: a freedesktop standard icon name. */
export const FALLBACK_ICON = 'application-x-executable'
