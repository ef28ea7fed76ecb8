/**
 * Registry-side limits that are not part of the stream config schema (src/contract/stream-config.ts holds
 * the config, its defaults and its checks).
 */

/** SRT passphrase length, characters (SRT RFC draft, section 6.1.1: "10 to 79 characters"). */
export const SRT_PASSPHRASE_LIMITS = { min: 10, max: 79 } as const;
