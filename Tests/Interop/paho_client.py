"""A Python paho-mqtt client for the interoperability tests.

sub: prints READY once subscribed, then one payload per line (with --details: payload|topic|subscription ids|alias); exits 0 after --count messages, 2 on timeout.
pub: publishes msg-0 .. msg-(count-1), waits for each to complete at its QoS, exits 0.
"""
import argparse
import sys
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def make_client(client_id, version):
    protocol = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
    if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
        return mqtt.Client(mqtt.CallbackAPIVersion.VERSION1, client_id=client_id, protocol=protocol)
    return mqtt.Client(client_id=client_id, protocol=protocol)


def connect(client, port, version, topic_alias_max=0):
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    if version == 5:
        properties = None
        if topic_alias_max:
            properties = Properties(PacketTypes.CONNECT)
            properties.TopicAliasMaximum = topic_alias_max
        client.connect("127.0.0.1", port, keepalive=30, clean_start=True, properties=properties)
    else:
        client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    if not connected.wait(10):
        print("no CONNACK", file=sys.stderr)
        sys.exit(3)


def subscribe(args):
    client = make_client(args.client_id, args.version)
    received = []
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_client, _userdata, message):
        received.append(message.payload.decode())
        if args.details:
            props = getattr(message, "properties", None)
            ids = getattr(props, "SubscriptionIdentifier", []) if props else []
            alias = getattr(props, "TopicAlias", "") if props else ""
            print(f"{message.payload.decode()}|{message.topic}|{','.join(str(i) for i in ids)}|{alias}", flush=True)
        else:
            print(message.payload.decode(), flush=True)
        if len(received) >= args.count:
            done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *a: subscribed.set()
    connect(client, args.port, args.version, args.topic_alias_max)
    properties = None
    if args.sub_id:
        properties = Properties(PacketTypes.SUBSCRIBE)
        properties.SubscriptionIdentifier = args.sub_id
    client.subscribe(args.topic, qos=args.qos, properties=properties)
    if not subscribed.wait(10):
        print("no SUBACK", file=sys.stderr)
        sys.exit(3)
    print("READY", flush=True)
    ok = done.wait(args.timeout)
    client.disconnect()
    client.loop_stop()
    sys.exit(0 if ok else 2)


def publish(args):
    client = make_client(args.client_id, args.version)
    connect(client, args.port, args.version)
    properties = None
    if args.topic_alias:
        properties = Properties(PacketTypes.PUBLISH)
        properties.TopicAlias = args.topic_alias
    for i in range(args.count):
        info = client.publish(args.topic, f"msg-{i}", qos=args.qos, properties=properties)
        info.wait_for_publish()
    client.disconnect()
    client.loop_stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["sub", "pub"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--qos", type=int, default=0)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--version", type=int, default=4)
    parser.add_argument("--client-id", default="")
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--sub-id", type=int, default=0, help="v5 Subscription Identifier")
    parser.add_argument("--topic-alias-max", type=int, default=0, help="v5 Topic Alias Maximum the client accepts")
    parser.add_argument("--topic-alias", type=int, default=0, help="v5 Topic Alias to publish with")
    parser.add_argument("--details", action="store_true", help="print payload|topic|subscription ids|topic alias")
    args = parser.parse_args()
    subscribe(args) if args.mode == "sub" else publish(args)


if __name__ == "__main__":
    main()
