import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, signWebhook } from '../../../src/webhooks/signature.ts';

describe('Standard Webhooks signature', () => {
  it('reproduces the published test vector', async () => {
    // The vector of the Standard Webhooks reference libraries (standardwebhooks.com).
    const sig = await signWebhook(
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'msg_p5jXN8AQM9LWM0D4loKWxJek',
      1614265330,
      '{"test": 2432232314}',
    );
    expect(sig).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('generates distinct whsec_ secrets of 24 random bytes', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});
