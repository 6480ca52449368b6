/** Reads counters from the vaults' Prometheus text, to count what happened inside the HSM. */
import { call } from './http';

/** Sum of `bkv_hsm_duration_seconds_count` for one HSM operation and outcome over `urls`. */
export async function hsmOperations(urls: string[], op: string, outcome = 'ok'): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = String((await call(url, 'GET', '/metrics')).body);
    for (const line of text.split('\n')) {
      if (!line.startsWith('bkv_hsm_duration_seconds_count{')) continue;
      if (!line.includes(`op="${op}"`) || !line.includes(`outcome="${outcome}"`)) continue;
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}
