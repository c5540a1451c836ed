"""Confluent's Schema Registry JSON Schema serializer and deserializer, on newsflow's
records: each line of standard input is one record, each line of standard output one
result.

  serialize URL TOPIC SCHEMA_FILE   JSON lines in, hex of the framed records out (the
                                    schema registered under TOPIC-value, as the
                                    serializer does by default; every record validated)
  deserialize URL TOPIC             hex of framed records in, one JSON line each out:
                                    {"schema_id": N, "value": ...}, the value read and
                                    validated with the schema the registry gives for N

URL may hold basic-auth credentials as user:password@.
"""

import json
import sys
from urllib.parse import urlsplit, urlunsplit

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext


def client(url):
    parts = urlsplit(url)
    conf = {"url": urlunsplit(parts._replace(netloc=parts.hostname + ":" + str(parts.port)))}
    if parts.username:
        conf["basic.auth.user.info"] = parts.username + ":" + parts.password
    return SchemaRegistryClient(conf)


def main(command, url, topic, *rest):
    registry = client(url)
    context = SerializationContext(topic, MessageField.VALUE)
    if command == "serialize":
        with open(rest[0]) as schema:
            serializer = JSONSerializer(schema.read(), registry)
        for line in sys.stdin:
            print(serializer(json.loads(line), context).hex(), flush=True)
    elif command == "deserialize":
        deserializer = JSONDeserializer(None, schema_registry_client=registry)
        for line in sys.stdin:
            framed = bytes.fromhex(line.strip())
            value = deserializer(framed, context)
            schema_id = int.from_bytes(framed[1:5], "big")
            print(json.dumps({"schema_id": schema_id, "value": value}), flush=True)
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main(*sys.argv[1:])
