import type { Env } from '../../env.ts';
import { ApiError } from '../errors.ts';

/** Secrets are sealed at rest with SECRETS_KEY (src/registry/secrets.ts): without one they cannot be kept. */
export function requireSecretsKey(env: Env): void {
  if (!env.SECRETS_KEY?.trim()) {
    throw new ApiError(
      503,
      'not-configured',
      'SECRETS_KEY is not set on this Worker: secrets cannot be stored',
    );
  }
}
