// PASS/FAIL lines shared by the Node interop scripts; run-push.sh counts them.

let failed = 0;

/** Prints `PASS name` or `FAIL name: why`. */
export function check(name, ok, why = '') {
  if (ok) {
    console.log(`PASS ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${why ? `: ${why}` : ''}`);
  }
  return ok;
}

/** Exits non-zero if any check failed. */
export function finish() {
  process.exit(failed > 0 ? 1 : 0);
}

/** Resolves with `promise`, or rejects after `ms` milliseconds saying what was awaited. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** POST /ch/{channel} with `text`; resolves with the new id (a number). */
export async function publish(base, channel, text) {
  const response = await fetch(`${base}/ch/${channel}`, { method: 'POST', body: text });
  const body = await response.text();
  if (response.status !== 200) {
    throw new Error(`publish answered ${response.status}: ${body}`);
  }
  return Number(body);
}
