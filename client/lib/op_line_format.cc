// Printing ops and their results as op lines (op_line.h).
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/lib/op_line.h"
#include "client/lib/op_line_value.h"

namespace ppsim::client {

namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

namespace {

bool IsValueMessage(const FD* fd) {
  return fd->message_type() == v1::PageHandle::descriptor() ||
         fd->message_type() == v1::FragArg::descriptor();
}

// " key=value" for every set field of `msg`; other messages field by field ("expect.pfn=").
void AppendFields(const pb::Message& msg, const std::string& prefix, std::string* out) {
  const pb::Reflection* r = msg.GetReflection();
  for (int i = 0; i < msg.GetDescriptor()->field_count(); ++i) {
    const FD* fd = msg.GetDescriptor()->field(i);
    if (fd->is_repeated() ? r->FieldSize(msg, fd) == 0 : !r->HasField(msg, fd)) continue;
    if (fd->cpp_type() == FD::CPPTYPE_MESSAGE && !fd->is_repeated() && !IsValueMessage(fd)) {
      AppendFields(r->GetMessage(msg, fd), absl::StrCat(prefix, fd->name(), "."), out);
      continue;
    }
    absl::StrAppend(out, " ", prefix, fd->name(), "=", op_line::FieldText(msg, fd));
  }
}

}  // namespace

std::string FormatOpLine(const v1::Op& op) {
  const pb::OneofDescriptor* oneof = v1::Op::descriptor()->FindOneofByName("op");
  const FD* which = op.GetReflection()->GetOneofFieldDescriptor(op, oneof);
  if (which == nullptr) return "(no op)";
  std::string out = which->name();
  AppendFields(op.GetReflection()->GetMessage(op, which), "", &out);
  if (op.ctx().kind() != v1::CTX_PROCESS || op.ctx().cpu() != 0) {
    absl::string_view kind = v1::CtxKind_Name(op.ctx().kind());
    absl::ConsumePrefix(&kind, "CTX_");
    absl::StrAppend(&out, " @", absl::AsciiStrToLower(kind), ":", op.ctx().cpu());
  }
  return out;
}

std::string FormatOpResult(const v1::OpResult& r) {
  std::vector<std::string> parts;
  if (r.pages_size() > 0) {
    std::vector<std::string> pages, dma;
    bool any_dma = false;
    for (const v1::PageRef& p : r.pages()) {
      std::string page = absl::StrFormat("0x%x/%d", p.page().pfn(), p.page().generation());
      if (p.offset() != 0) absl::StrAppend(&page, "+", p.offset());
      pages.push_back(std::move(page));
      dma.push_back(absl::StrFormat("0x%x", p.dma_addr()));
      any_dma |= p.dma_addr() != 0;
    }
    parts.push_back(absl::StrCat("pages=", absl::StrJoin(pages, ",")));
    if (any_dma) parts.push_back(absl::StrCat("dma=", absl::StrJoin(dma, ",")));
  }
  std::string rest;
  const pb::Reflection* refl = r.GetReflection();
  for (int i = 0; i < r.GetDescriptor()->field_count(); ++i) {
    const FD* fd = r.GetDescriptor()->field(i);
    if (fd->name() == "pages") continue;
    if (fd->is_repeated() ? refl->FieldSize(r, fd) == 0 : !refl->HasField(r, fd)) continue;
    parts.push_back(absl::StrCat(fd->name(), "=", op_line::FieldText(r, fd)));
  }
  return absl::StrJoin(parts, " ");
}

std::string OpCatalog() {
  const pb::OneofDescriptor* oneof = v1::Op::descriptor()->FindOneofByName("op");
  std::string out;
  for (int i = 0; i < oneof->field_count(); ++i) {
    const FD* op = oneof->field(i);
    absl::StrAppend(&out, op->name());
    const pb::Descriptor* d = op->message_type();
    for (int j = 0; j < d->field_count(); ++j) {
      absl::StrAppend(&out, " ", d->field(j)->name(), "=", op_line::FieldTypeName(d->field(j)));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace ppsim::client
