/** Reads a running server's Prometheus metrics, as a scraper would. */

/** The first capture group of `pattern` in GET /metrics, as a number (NaN when absent). */
export async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? NaN);
}

/** Polls /metrics until `pattern` reads `value`; throws after about 5 s. */
export async function waitForMetric(url: string, pattern: RegExp, value: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if ((await metric(url, pattern)) === value) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`metric ${String(pattern)} never reached ${value}`);
}
