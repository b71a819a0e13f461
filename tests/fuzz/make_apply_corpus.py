#!/usr/bin/python3
"""Writes the apply_fuzzer seeds (corpus/apply_fuzzer/*.pb): serialized v1.ApplyRequests that
reach deep into the model — pools, page puts, skbs, faults, teardown with pages in flight.

Page handles are (pfn, generation) pairs that only a lab hands out, so the script asks a real
ppsimd for the ones apply_fuzzer's setup prefix produces (same LabConfig, same setup ops: the
model is deterministic), then applies every seed to a fresh lab and prints how far it got.

usage: make_apply_corpus.py PPSIMD [OUT_DIR]   (OUT_DIR defaults to corpus/apply_fuzzer)
Keep LAB_CONFIG and SETUP in step with apply_fuzzer.cc.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "proto")


def load_stubs():
    out = tempfile.mkdtemp()
    subprocess.run(
        ["protoc", "-I", PROTO, f"--python_out={out}", f"--grpc_out={out}",
         "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
         "ppsim/v1/types.proto", "ppsim/v1/ops.proto", "ppsim/v1/service.proto"],
        check=True)
    sys.path.insert(0, out)


def start_daemon(ppsimd, work):
    ready = os.path.join(work, "ready.json")
    proc = subprocess.Popen(
        [ppsimd, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--data-dir",
         os.path.join(work, "data"), "--ready-file", ready, "--log-level", "warn"])
    for _ in range(600):
        if os.path.exists(ready):
            with open(ready) as f:
                return proc, json.load(f)["grpc"]
        time.sleep(0.05)
    proc.kill()
    sys.exit("ppsimd did not get ready")


def main():
    ppsimd = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "corpus", "apply_fuzzer")
    load_stubs()
    import grpc
    from ppsim.v1 import ops_pb2, service_pb2, service_pb2_grpc, types_pb2

    # apply_fuzzer.cc: SmallLab() and Setup().
    config = types_pb2.LabConfig(ram_bytes=64 << 20, cpus=4, page_event_log_capacity=4096, seed=1)
    softirq = ops_pb2.ExecContext(kind=types_pb2.CTX_SOFTIRQ, cpu=0)
    process = ops_pb2.ExecContext(kind=types_pb2.CTX_PROCESS, cpu=0)
    setup = [
        ops_pb2.Op(add_device=ops_pb2.AddDevice()),
        ops_pb2.Op(bind_driver=ops_pb2.BindDriver(device=1, strategy="legacy")),
        ops_pb2.Op(ctx=softirq, page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=1, count=4)),
    ]

    with tempfile.TemporaryDirectory() as work:
        proc, target = start_daemon(ppsimd, work)
        try:
            channel = grpc.insecure_channel(target)
            grpc.channel_ready_future(channel).result(timeout=10)
            labs = service_pb2_grpc.LabServiceStub(channel)
            ops = service_pb2_grpc.OpsServiceStub(channel)

            def fresh():
                lab = labs.CreateLab(service_pb2.CreateLabRequest(name="seed", config=config)).id
                r = ops.Apply(service_pb2.ApplyRequest(lab=lab, ops=setup))
                assert not r.HasField("rejected"), r.rejected.message
                return lab, [p.page for p in r.results[2].pages]

            _, pages = fresh()
            p = pages  # the setup's 4 page handles
            Op = ops_pb2.Op

            def put(page, ctx=softirq, direct=True):
                return Op(ctx=ctx, page_pool_put_page=ops_pb2.PagePoolPutPage(
                    pool=1, page=page, dma_sync_size=-1, allow_direct=direct))

            seeds = {
                "recycle": [put(p[0]), put(p[1], process, False),
                            Op(ctx=softirq, page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=1, count=2))],
                "double-recycle": [put(p[0]), put(p[0])],
                "unbind-inflight": [Op(unbind_driver=ops_pb2.UnbindDriver(device=1)),
                                    Op(remove_device=ops_pb2.RemoveDevice(device=1)),
                                    Op(ctx=softirq, napi_pp_put_page=ops_pb2.NapiPpPutPage(page=p[0])),
                                    Op(advance_time=ops_pb2.AdvanceTime(ns=2_000_000_000)),
                                    Op(liveness_check=ops_pb2.LivenessCheck())],
                "surprise-remove": [Op(device_dma=ops_pb2.DeviceDma(device=1, iova=4096, len=64, write=True)),
                                    Op(surprise_remove=ops_pb2.SurpriseRemove(device=1)),
                                    put(p[1])],
                "skbs": [Op(ctx=softirq, skb_build=ops_pb2.SkbBuild(
                             frags=[ops_pb2.FragArg(page=p[0], offset=0, len=1500),
                                    ops_pb2.FragArg(page=p[1], offset=0, len=0)], recycle=True)),
                         Op(skb_clone=ops_pb2.SkbClone(skb=1)),
                         Op(pskb_expand_head=ops_pb2.PskbExpandHead(skb=2)),
                         Op(skb_split=ops_pb2.SkbSplit(skb=1, at=1, cut=100)),
                         Op(skb_frag_ref=ops_pb2.SkbFragRef(skb=1, frag=0)),
                         Op(ctx=softirq, kfree_skb=ops_pb2.KfreeSkb(skb=1)),
                         Op(ctx=softirq, napi_consume_skb=ops_pb2.NapiConsumeSkb(skb=2, budget=64))],
                "coalesce-gro": [Op(ctx=softirq, skb_build=ops_pb2.SkbBuild(
                                     frags=[ops_pb2.FragArg(page=p[2])], recycle=True)),
                                 Op(ctx=softirq, skb_build=ops_pb2.SkbBuild(
                                     frags=[ops_pb2.FragArg(page=p[3])], recycle=True)),
                                 Op(skb_try_coalesce=ops_pb2.SkbTryCoalesce(to=1, **{"from": 2})),
                                 Op(skb_gro_receive=ops_pb2.SkbGroReceive(p=1, skb=2)),
                                 Op(stack_hold=ops_pb2.StackHold(skb=1, holder="socket", cpu=0)),
                                 Op(ctx=softirq, net_rx_action=ops_pb2.NetRxAction(cpu=0)),
                                 Op(stack_release=ops_pb2.StackRelease(holder="socket", cpu=0))],
                "faults": [Op(set_fault=ops_pb2.SetFault(site="fail_dma_map", probability=1.0, times=2)),
                           Op(ctx=softirq, page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=1, count=8)),
                           Op(clear_faults=ops_pb2.ClearFaults()),
                           Op(set_memory_pressure=ops_pb2.SetMemoryPressure(on=True)),
                           Op(ctx=softirq, page_pool_alloc_frag=ops_pb2.PagePoolAllocFrag(pool=1, size=2048))],
                "pool-create-destroy": [Op(page_pool_create=ops_pb2.PagePoolCreate(
                                            device=1, flags=3, pool_size=64, dma_dir=types_pb2.DMA_FROM_DEVICE,
                                            max_len=4096, strategy="dma-tracking")),
                                        Op(ctx=softirq, page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=2, count=3)),
                                        Op(page_pool_destroy=ops_pb2.PagePoolDestroy(pool=2)),
                                        Op(xdp_reg_mem_model=ops_pb2.XdpRegMemModel(pool=1)),
                                        Op(page_pool_disable_direct_recycling=ops_pb2.PagePoolDisableDirectRecycling(pool=1))],
                "pages-and-gup": [Op(alloc_page=ops_pb2.AllocPage(nid=0, order=2)),
                                  Op(get_page=ops_pb2.GetPage(page=p[0])),
                                  Op(user_map=ops_pb2.UserMap(page=p[0])),
                                  Op(gup_fast_begin=ops_pb2.GupFastBegin(page=p[0])),
                                  Op(put_page_rcu=ops_pb2.PutPageRcu(page=p[0])),
                                  Op(gup_fast_try_get=ops_pb2.GupFastTryGet(reader=1)),
                                  Op(gup_fast_end=ops_pb2.GupFastEnd(reader=1)),
                                  Op(user_unmap=ops_pb2.UserUnmap(page=p[0])),
                                  Op(dma_sync_for_cpu=ops_pb2.DmaSyncForCpu(page=p[1], len=64)),
                                  Op(page_pool_put_page_bulk=ops_pb2.PagePoolPutPageBulk(pages=[p[2], p[3]]))],
                "netdev": [Op(netdev_down=ops_pb2.NetdevDown(device=1)),
                           Op(netdev_up=ops_pb2.NetdevUp(device=1)),
                           Op(add_device=ops_pb2.AddDevice(name="eth1", iommu_model="ppc-ddw", strict=1)),
                           Op(bind_driver=ops_pb2.BindDriver(device=2, strategy="tce-wait", rx_queues=2)),
                           Op(add_device=ops_pb2.AddDevice(name="nsim0")),
                           Op(bind_driver=ops_pb2.BindDriver(device=3, driver="netdevsim")),
                           Op(nsim_pp_hold=ops_pb2.NsimPpHold(device=3, hold=True)),
                           Op(delete_netns=ops_pb2.DeleteNetns())],
                "rejected-midway": [put(p[0]), Op(page_pool_alloc_pages=ops_pb2.PagePoolAllocPages(pool=1, count=0)),
                                    put(p[1])],
            }
            os.makedirs(out_dir, exist_ok=True)
            for name, seed_ops in seeds.items():
                lab, _ = fresh()
                req = service_pb2.ApplyRequest(lab=1, ops=seed_ops)
                r = ops.Apply(service_pb2.ApplyRequest(lab=lab, ops=seed_ops))
                how = (f"rejected at {r.rejected.index}: {r.rejected.message}"
                       if r.HasField("rejected") else "all applied")
                print(f"{name}: {len(seed_ops)} ops, {how}, {r.violations} violations")
                with open(os.path.join(out_dir, name + ".pb"), "wb") as f:
                    f.write(req.SerializeToString())
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
