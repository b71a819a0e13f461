// `ppctl apply --lab N OP...` or `--file F`: ops as op lines (client/lib/op_line.h) applied in
// order; prints each op with what it produced, the rejected op if any, and the lab's totals.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/lib/op_line.h"
#include "client/lib/utf8.h"
#include "client/ppctl/commands.h"
#include "client/ppctl/remote.h"

namespace ppsim::ppctl {

namespace {

struct ApplyOptions {
  RemoteOptions remote;
  uint64_t lab = 0;
  std::string file;
  std::vector<std::string> words;
  uint32_t batch = 1000;
  bool quiet = false;
  bool json = false;
  bool list_ops = false;
};

absl::StatusOr<std::vector<v1::Op>> ReadOps(const ApplyOptions& o) {
  if (o.file.empty()) return client::ParseOpArgs(o.words);
  std::string text;
  if (o.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(o.file);
    if (!in) return absl::NotFoundError(absl::StrCat(o.file, ": cannot open"));
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  if (absl::Status s = client::CheckUtf8(text, o.file); !s.ok()) return s;
  absl::StatusOr<std::vector<v1::Op>> ops = client::ParseOpLines(text);
  if (!ops.ok()) {
    return absl::Status(ops.status().code(), absl::StrCat(o.file, ": ", ops.status().message()));
  }
  return ops;
}

// Applies `ops` in batches of `batch`; one response for all of them, the rejection's index
// counted from the first op.
absl::StatusOr<v1::ApplyResponse> ApplyAll(client::Client& c, uint64_t lab,
                                           const std::vector<v1::Op>& ops, size_t batch) {
  v1::ApplyResponse all;
  for (size_t at = 0; at < ops.size(); at += batch) {
    const size_t n = std::min(batch, ops.size() - at);
    absl::StatusOr<v1::ApplyResponse> r = c.Apply(lab, absl::MakeConstSpan(ops).subspan(at, n));
    if (!r.ok()) return r.status();
    for (v1::OpResult& res : *r->mutable_results()) *all.add_results() = std::move(res);
    all.set_digest(r->digest());
    all.set_now_ns(r->now_ns());
    all.set_violations(r->violations());
    all.set_ops(r->ops());
    if (r->has_rejected()) {
      *all.mutable_rejected() = r->rejected();
      all.mutable_rejected()->set_index(static_cast<uint32_t>(at + r->rejected().index()));
      break;
    }
  }
  return all;
}

void PrintResults(const std::vector<v1::Op>& ops, const v1::ApplyResponse& r) {
  for (int i = 0; i < r.results_size(); ++i) {
    const std::string result = client::FormatOpResult(r.results(i));
    std::printf("ops[%d] %s%s%s\n", i, client::FormatOpLine(ops[i]).c_str(),
                result.empty() ? "" : "  =>  ", result.c_str());
  }
  if (r.has_rejected() && r.rejected().index() < ops.size()) {
    const uint32_t i = r.rejected().index();
    std::printf("ops[%u] %s  =>  rejected\n", i, client::FormatOpLine(ops[i]).c_str());
    if (i + 2 == ops.size()) std::printf("ops[%u] not applied\n", i + 1);
    if (i + 2 < ops.size()) std::printf("ops[%u..%zu] not applied\n", i + 1, ops.size() - 1);
  }
}

}  // namespace

Command AddApplyCommand(CLI::App* root) {
  auto o = std::make_shared<ApplyOptions>();
  CLI::App* cmd = root->add_subcommand(
      "apply", "apply ops to a lab in order; a rejected op stops the rest (exit 64 + its code)");
  cmd->footer(
      "An op is its name (ops.proto), key=value fields and an optional @context:\n"
      "  ppctl apply --lab 1 page_pool_alloc_pages pool=1 count=4 @softirq:0\n"
      "  ppctl apply --lab 1 add_device bind_driver device=1 \\; advance_time ns=30s\n"
      "  ppctl apply --lab 1 --file story.ops   (one op per line, # comments, or proto JSON lines\n"
      "                                         such as an exported trace)\n"
      "Page handles are pfn/generation (page=0x10/2), frags pfn/gen[+offset][:len], lists are\n"
      "comma-separated; --list-ops shows every op's fields.");
  AddRemoteOptions(cmd, &o->remote);
  cmd->add_option("--lab", o->lab, "lab id");
  cmd->add_option("-f,--file", o->file, "read ops from a file, one per line (- = stdin)");
  cmd->add_option("op", o->words, "ops as words: NAME [key=value...] [@kind:cpu] ...");
  cmd->add_option("--batch", o->batch, "ops per Apply call")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", o->quiet, "print only the totals (and the rejection)");
  cmd->add_flag("--json", o->json, "print the ApplyResponse as proto JSON");
  cmd->add_flag("--list-ops", o->list_ops, "list every op and its fields, then exit");
  return {cmd, [o] {
            if (o->list_ops) {
              std::printf("%s", client::OpCatalog().c_str());
              return 0;
            }
            if (o->lab == 0) return UsageError("apply", "--lab is required");
            if (!o->file.empty() && !o->words.empty()) {
              return UsageError("apply", "give ops as words or --file, not both");
            }
            if (o->file.empty() && o->words.empty()) {
              return UsageError("apply", "no ops (give OP words or --file; --list-ops lists them)");
            }
            absl::StatusOr<std::vector<v1::Op>> ops = ReadOps(*o);
            if (!ops.ok()) return UsageError("apply", ops.status().message());
            if (ops->empty()) return UsageError("apply", absl::StrCat(o->file, ": no ops"));
            absl::StatusOr<std::unique_ptr<client::Client>> c = Dial(o->remote);
            if (!c.ok()) return Fail("apply", c.status());
            absl::StatusOr<v1::ApplyResponse> r = ApplyAll(**c, o->lab, *ops, o->batch);
            if (!r.ok()) return Fail("apply", r.status());
            if (o->json) {
              std::printf("%s", ToJson(*r).c_str());
            } else {
              if (!o->quiet) PrintResults(*ops, *r);
              std::printf(
                  "lab %llu: %llu ops in its trace, %llu violations, digest %016llx, "
                  "now %.9fs\n",
                  static_cast<unsigned long long>(o->lab),
                  static_cast<unsigned long long>(r->ops()),
                  static_cast<unsigned long long>(r->violations()),
                  static_cast<unsigned long long>(r->digest()), r->now_ns() / 1e9);
            }
            const absl::Status rejected = client::ApplyStatus(*r);
            return rejected.ok() ? 0 : Fail("apply", rejected);
          }};
}

}  // namespace ppsim::ppctl
