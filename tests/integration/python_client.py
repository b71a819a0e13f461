#!/usr/bin/python3
"""A client in another language: Debian's python3-grpcio with stubs generated from proto/ by
protoc and grpc_python_plugin (issue 4: this proves the proto is the contract).

usage: python_client.py PROTO_DIR GRPC_TARGET
"""
import subprocess
import sys
import tempfile


def main():
    proto_dir, target = sys.argv[1], sys.argv[2]
    out = tempfile.mkdtemp()
    subprocess.run(
        ["protoc", "-I", proto_dir, f"--python_out={out}", f"--grpc_out={out}",
         "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         "ppsim/v1/types.proto", "ppsim/v1/ops.proto", "ppsim/v1/service.proto"],
        check=True)
    sys.path.insert(0, out)
    import grpc
    from ppsim.v1 import ops_pb2, service_pb2, service_pb2_grpc, types_pb2

    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=10)
    labs = service_pb2_grpc.LabServiceStub(channel)
    ops = service_pb2_grpc.OpsServiceStub(channel)
    query = service_pb2_grpc.QueryServiceStub(channel)

    lab = labs.CreateLab(service_pb2.CreateLabRequest(
        name="python", config=types_pb2.LabConfig(profile="v6.15"))).id
    softirq = ops_pb2.ExecContext(kind=types_pb2.CTX_SOFTIRQ, cpu=0)
    req = service_pb2.ApplyRequest(lab=lab, ops=[
        ops_pb2.Op(add_device=ops_pb2.AddDevice()),
        ops_pb2.Op(bind_driver=ops_pb2.BindDriver(device=1, flags=1)),
        ops_pb2.Op(ctx=softirq, page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=1, count=3)),
    ])
    resp = ops.Apply(req)
    assert not resp.HasField("rejected"), resp.rejected
    assert len(resp.results) == 3, resp
    assert len(resp.results[2].pages) == 3, resp.results[2]

    pool = query.GetPool(service_pb2.GetPoolRequest(lab=lab, pool=1))
    # The first allocation on an empty pool bulk-allocates 64 pages (docs/kernel/page-pool.md §3.1).
    assert pool.inflight == 64, pool
    assert pool.stats.alloc_slow == 1 and pool.stats.alloc_fast == 2, pool.stats
    dump = query.ListPools(service_pb2.ListPoolsRequest(lab=lab))
    assert [p.id for p in dump.pools] == [1], dump

    # A rejected op names its index and reason; the ops before it stay applied.
    bad = ops.Apply(service_pb2.ApplyRequest(lab=lab, ops=[
        ops_pb2.Op(advance_time=ops_pb2.AdvanceTime(ns=1000)),
        ops_pb2.Op(page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=7)),
    ]))
    assert bad.rejected.index == 1 and bad.rejected.code == grpc.StatusCode.NOT_FOUND.value[0], bad
    assert "pool: pool 7 does not exist" in bad.rejected.message, bad.rejected.message
    assert len(bad.results) == 1

    try:
        query.GetPool(service_pb2.GetPoolRequest(lab=lab, pool=9))
        raise AssertionError("GetPool of an unknown pool succeeded")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
    print(f"python client: lab {lab}, pool 1 inflight {pool.inflight}: ok")


if __name__ == "__main__":
    main()
