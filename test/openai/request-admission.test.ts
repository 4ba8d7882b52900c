// How many requests the HTTP server holds at once (src/openai/request-admission.ts).
import * as assert from 'assert';
import { ApiError } from '../../src/openai/errors';
import { RequestAdmission } from '../../src/openai/request-admission';

describe('openai request admission', () => {
  it('admits up to the limit, then refuses with 429 and a Retry-After', () => {
    const a = new RequestAdmission(2);
    const leave1 = a.enter();
    a.enter();
    assert.strictEqual(a.count, 2);
    assert.throws(
      () => a.enter(),
      (e: unknown) => e instanceof ApiError && e.status === 429 && /--max-queue, is 2/.test(e.message),
    );
    leave1();
    leave1(); // leaving twice frees one place only
    assert.strictEqual(a.count, 1);
    a.enter();
    assert.strictEqual(a.count, 2);
  });

  it('refuses a limit that is not a positive integer', () => {
    assert.throws(() => new RequestAdmission(0), RangeError);
    assert.throws(() => new RequestAdmission(1.5), RangeError);
  });
});
