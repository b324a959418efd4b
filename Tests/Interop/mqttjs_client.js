// An MQTT.js client for the interoperability tests (node; the mqtt package from .tools/mqttjs, found via NODE_PATH).
//
// sub: prints READY once subscribed, then one line per message: payload|topic|qos|retain|user property k|content type;
//      exits 0 after --count messages, 2 on timeout.
// pub: publishes msg-0 .. msg-(count-1) (or --payload), each awaited at its QoS (PUBACK / PUBCOMP), then disconnects
//      and exits 0; with --version 5 each message carries the user property k=v<i> and the content type text/plain.
const mqtt = require('mqtt');
const { parseArgs } = require('node:util');

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string' },
    url: { type: 'string' },
    topic: { type: 'string' },
    qos: { type: 'string', default: '0' },
    count: { type: 'string', default: '1' },
    version: { type: 'string', default: '4' },
    'client-id': { type: 'string', default: '' },
    retain: { type: 'boolean', default: false },
    payload: { type: 'string' },
    timeout: { type: 'string', default: '20' },
  },
});
const qos = Number(args.qos);
const count = Number(args.count);
const version = Number(args.version);

function fail(code, text) {
  console.error(text);
  process.exit(code);
}

const client = mqtt.connect(args.url, {
  protocolVersion: version,
  clientId: args['client-id'],
  clean: true,
  keepalive: 30,
  reconnectPeriod: 0,
  connectTimeout: 10_000,
});
let finished = false;
client.on('error', (e) => fail(3, `error: ${e.message}`));
client.on('close', () => finished || fail(5, 'connection closed'));
setTimeout(() => fail(2, 'timed out'), Number(args.timeout) * 1000).unref();

client.on('connect', async () => {
  if (args.mode === 'sub') {
    let received = 0;
    client.on('message', (topic, payload, packet) => {
      const p = packet.properties ?? {};
      const user = p.userProperties?.k ?? '';
      console.log([payload.toString(), topic, packet.qos, packet.retain, user, p.contentType ?? ''].join('|'));
      if (++received >= count) {
        finished = true;
        client.end(false, () => process.exit(0));
      }
    });
    const granted = await client.subscribeAsync(args.topic, { qos });
    if (granted[0].qos !== qos) {
      fail(4, `granted QoS ${granted[0].qos}`);
    }
    console.log('READY');
    return;
  }

  for (let i = 0; i < count; i++) {
    const properties = version === 5 ? { userProperties: { k: `v${i}` }, contentType: 'text/plain' } : undefined;
    await client.publishAsync(args.topic, args.payload ?? `msg-${i}`, { qos, retain: args.retain, properties });
  }
  finished = true;
  client.end(false, () => process.exit(0));
});
