#!/usr/bin/python3
"""amqp_tool.py: the broker side of tests/integration/amqp.sh, with an
AMQP client independent of hookpipe's (pika, not librabbitmq).

  amqp_tool.py PORT USER PASSFILE declare EXCHANGE QUEUE KEY [ARG=VALUE...]
      a durable direct exchange (unless EXCHANGE is ""), a durable queue
      with the given x-arguments (x-max-length=2 x-overflow=reject-publish),
      bound with KEY
  amqp_tool.py PORT USER PASSFILE drain QUEUE OUT
      take every message of QUEUE (basic.get, acked), one JSON line each
      in OUT (appended): body (base64), properties, headers
  amqp_tool.py PORT USER PASSFILE count QUEUE
      print the queue's message count
"""
import base64
import json
import sys

import pika


def connect(port, user, passfile):
    with open(passfile) as f:
        password = f.readline().rstrip("\n")
    params = pika.ConnectionParameters(
        host="127.0.0.1", port=int(port), virtual_host="/",
        credentials=pika.PlainCredentials(user, password),
        connection_attempts=3, retry_delay=1, socket_timeout=10)
    return pika.BlockingConnection(params)


def value(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return v


def main():
    port, user, passfile, cmd = sys.argv[1:5]
    args = sys.argv[5:]
    conn = connect(port, user, passfile)
    ch = conn.channel()
    if cmd == "declare":
        exchange, queue, key = args[:3]
        qargs = {}
        for a in args[3:]:
            k, v = a.split("=", 1)
            qargs[k] = int(v) if v.isdigit() else v
        if exchange:
            ch.exchange_declare(exchange, "direct", durable=True)
        ch.queue_declare(queue, durable=True, arguments=qargs or None)
        if exchange:
            ch.queue_bind(queue, exchange, routing_key=key)
    elif cmd == "drain":
        queue, out = args[:2]
        n = 0
        with open(out, "a") as f:
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=False)
                if method is None:
                    break
                rec = {
                    "body": base64.b64encode(body).decode(),
                    "routing_key": method.routing_key,
                    "exchange": method.exchange,
                    "redelivered": method.redelivered,
                    "content_type": props.content_type,
                    "delivery_mode": props.delivery_mode,
                    "message_id": props.message_id,
                    "timestamp": props.timestamp,
                    "headers": {k: value(v) for k, v in
                                (props.headers or {}).items()},
                    "header_types": {k: type(v).__name__ for k, v in
                                     (props.headers or {}).items()},
                }
                f.write(json.dumps(rec, sort_keys=True) + "\n")
                ch.basic_ack(method.delivery_tag)
                n += 1
        print(n)
    elif cmd == "count":
        q = ch.queue_declare(args[0], passive=True)
        print(q.method.message_count)
    else:
        sys.exit("unknown command " + cmd)
    conn.close()


if __name__ == "__main__":
    main()
