// @hocuspocus/server 4.7.0, in memory (no persistence extension): the Hocuspocus reference server.
// Usage: node servers/hocuspocus.mjs --port 1235 [--host 127.0.0.1]
import { parseArgs } from 'node:util'
import { Server } from '@hocuspocus/server'

const { values } = parseArgs({
  options: { port: { type: 'string', default: '1235' }, host: { type: 'string', default: '127.0.0.1' } }
})

const server = new Server({
  port: Number(values.port),
  address: values.host,
  quiet: true,
  stopOnSignals: true
})
await server.listen()
console.log(`hocuspocus listening on ${values.host}:${values.port}`)
