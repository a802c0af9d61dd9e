/**
 * Reports' limits, each with why (tracker/README.md's Limits table lists them).
 */

/** Rows a JSON page holds unless `limit` says otherwise. */
export const REPORT_DEFAULT_PAGE_ROWS = 100
/** Rows read per page while streaming CSV: the export's memory is a page, not the result. */
export const REPORT_EXPORT_PAGE_ROWS = 1000
