/** NBD protocol numbers (doc/proto.md of the NBD project): only those this server uses. */

export const NBDMAGIC = 0x4e42444d41474943n // "NBDMAGIC"
export const IHAVEOPT = 0x49484156454f5054n // "IHAVEOPT"
export const OPTION_REPLY_MAGIC = 0x3e889045565a9n
export const REQUEST_MAGIC = 0x25609513
export const SIMPLE_REPLY_MAGIC = 0x67446698

export const HANDSHAKE_FLAGS = { FIXED_NEWSTYLE: 1 << 0, NO_ZEROES: 1 << 1 } as const

const FLAG = { HAS_FLAGS: 1 << 0, READ_ONLY: 1 << 1, CAN_MULTI_CONN: 1 << 8 } as const
/** Read-only, and safe to open more than once (nothing is written). */
export const TRANSMISSION_FLAGS = FLAG.HAS_FLAGS | FLAG.READ_ONLY | FLAG.CAN_MULTI_CONN

export const OPT = { EXPORT_NAME: 1, ABORT: 2, LIST: 3, STARTTLS: 5, INFO: 6, GO: 7 } as const

const ERR = 2 ** 31
export const REP = { ACK: 1, INFO: 3, ERR_UNSUP: ERR + 1, ERR_POLICY: ERR + 2, ERR_INVALID: ERR + 3, ERR_UNKNOWN: ERR + 6 } as const

export const INFO = { EXPORT: 0, BLOCK_SIZE: 3 } as const

export const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, WRITE_ZEROES: 6 } as const

export const ERRNO = { EPERM: 1, EIO: 5, EINVAL: 22, EOVERFLOW: 75 } as const
