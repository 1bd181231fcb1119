"""A gRPC server that is not horde's: Python's grpcio, with horde.test.Echo's
SayRequest (tests/grpc_target/echo.proto) built from a descriptor and parsed by
Python's protobuf. It records the (text, delay_ms) of every Say call and
answers at once (an empty SayReply); on SIGTERM it prints one JSON line
{"calls": N, "seen": {"TEXT DELAY": count, ...}} and exits. The first line on
stdout is "listening PORT". The truth for the gRPC template test
(tests/integration/templates_test.cc).

    /usr/bin/python3 grpc_echo.py
"""
import json
import signal
import sys
import threading
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
proto = descriptor_pb2.FileDescriptorProto(name="echo.proto", package="horde.test", syntax="proto3")
say = proto.message_type.add(name="SayRequest")
say.field.add(name="text", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
say.field.add(name="code", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
say.field.add(name="delay_ms", number=3, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
pool = descriptor_pool.DescriptorPool()
pool.Add(proto)
SayRequest = message_factory.MessageFactory(pool).GetPrototype(
    pool.FindMessageTypeByName("horde.test.SayRequest"))

lock = threading.Lock()
seen = {}
calls = 0


def say_handler(request, context):
    global calls
    key = "%s %d" % (request.text, request.delay_ms)
    with lock:
        calls += 1
        seen[key] = seen.get(key, 0) + 1
    return b""


handler = grpc.method_handlers_generic_handler("horde.test.Echo", {
    "Say": grpc.unary_unary_rpc_method_handler(
        say_handler, request_deserializer=SayRequest.FromString,
        response_serializer=lambda reply: reply),
})
server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
server.add_generic_rpc_handlers((handler,))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print("listening %d" % port, flush=True)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
done.wait(120)  # bounded: a test that forgets to stop it does not leave it behind
server.stop(0)
with lock:
    print(json.dumps({"calls": calls, "seen": seen}), flush=True)
sys.exit(0)
