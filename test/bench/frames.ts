/** Frames the envelope benchmarks decode: a typical dashboard event, as the server sends it. */
export const eventFrame = JSON.stringify({
  type: 'event',
  seq: 4211,
  event: 'host.metrics',
  data: { host: 'web-17', cpu: 0.42, mem: 0.71, load: [1.2, 0.9, 0.8], tags: { region: 'eu-west', role: 'api' } },
  ts: 1767225600000,
})
