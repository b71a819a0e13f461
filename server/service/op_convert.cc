#include "server/service/op_convert.h"

#include <limits>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace ppsim::service {

namespace pb = google::protobuf;

namespace {

sim::PageHandle HandleFromProto(const pb::Message& m) {
  const v1::PageHandle& h = static_cast<const v1::PageHandle&>(m);
  return sim::PageHandle{h.pfn(), h.generation()};
}

void HandleToProto(const sim::PageHandle& h, v1::PageHandle* out) {
  out->set_pfn(h.pfn);
  out->set_generation(h.generation);
}

// Reads one proto field into a sim field, checking ranges.
class Reader {
 public:
  Reader(const pb::Message& msg, std::string prefix) : msg_(msg), prefix_(std::move(prefix)) {}
  const absl::Status& status() const { return status_; }

  template <class T>
  void operator()(absl::string_view name, T& v) {
    if (!status_.ok()) return;
    const pb::FieldDescriptor* fd = msg_.GetDescriptor()->FindFieldByName(std::string(name));
    if (fd == nullptr) {
      status_ = absl::InternalError(absl::StrCat(prefix_, name, ": missing from ops.proto"));
      return;
    }
    const pb::Reflection* r = msg_.GetReflection();
    if (!fd->is_repeated() && !r->HasField(msg_, fd)) return;  // keep the model's default
    if constexpr (std::is_same_v<T, bool>) {
      v = r->GetBool(msg_, fd);
    } else if constexpr (std::is_same_v<T, std::string>) {
      v = r->GetString(msg_, fd);
    } else if constexpr (std::is_same_v<T, double>) {
      v = r->GetDouble(msg_, fd);
    } else if constexpr (std::is_same_v<T, sim::DmaDir>) {
      const int d = r->GetEnumValue(msg_, fd);
      if (d < 0 || d > 3) {
        status_ = absl::InvalidArgumentError(absl::StrCat(prefix_, name, ": ", d, " is not a DmaDir"));
        return;
      }
      v = static_cast<sim::DmaDir>(d);
    } else if constexpr (std::is_same_v<T, sim::PageHandle>) {
      v = HandleFromProto(r->GetMessage(msg_, fd));
    } else if constexpr (std::is_same_v<T, std::vector<sim::PageHandle>>) {
      v.clear();
      for (int i = 0; i < r->FieldSize(msg_, fd); ++i) {
        v.push_back(HandleFromProto(r->GetRepeatedMessage(msg_, fd, i)));
      }
    } else if constexpr (std::is_same_v<T, std::vector<sim::op::FragArg>>) {
      v.clear();
      for (int i = 0; i < r->FieldSize(msg_, fd); ++i) {
        const auto& f = static_cast<const v1::FragArg&>(r->GetRepeatedMessage(msg_, fd, i));
        v.push_back({HandleFromProto(f.page()), f.offset(), f.len()});
      }
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      v.clear();
      for (int i = 0; i < r->FieldSize(msg_, fd); ++i) v.push_back(r->GetRepeatedUInt32(msg_, fd, i));
    } else if constexpr (std::is_integral_v<T>) {
      switch (fd->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_INT32: v = static_cast<T>(r->GetInt32(msg_, fd)); break;
        case pb::FieldDescriptor::CPPTYPE_INT64: v = static_cast<T>(r->GetInt64(msg_, fd)); break;
        case pb::FieldDescriptor::CPPTYPE_UINT32: v = static_cast<T>(r->GetUInt32(msg_, fd)); break;
        case pb::FieldDescriptor::CPPTYPE_UINT64: v = static_cast<T>(r->GetUInt64(msg_, fd)); break;
        default:
          status_ = absl::InternalError(absl::StrCat(prefix_, name, ": type mismatch with the model"));
      }
    } else {
      static_assert(!sizeof(T), "op field type without a proto mapping");
    }
  }

 private:
  const pb::Message& msg_;
  std::string prefix_;
  absl::Status status_;
};

// Writes one sim field into the proto message.
class Writer {
 public:
  explicit Writer(pb::Message* msg) : msg_(msg) {}
  template <class T>
  void operator()(absl::string_view name, const T& v) {
    const pb::FieldDescriptor* fd = msg_->GetDescriptor()->FindFieldByName(std::string(name));
    if (fd == nullptr) return;
    const pb::Reflection* r = msg_->GetReflection();
    if constexpr (std::is_same_v<T, bool>) {
      r->SetBool(msg_, fd, v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      r->SetString(msg_, fd, v);
    } else if constexpr (std::is_same_v<T, double>) {
      r->SetDouble(msg_, fd, v);
    } else if constexpr (std::is_same_v<T, sim::DmaDir>) {
      r->SetEnumValue(msg_, fd, static_cast<int>(v));
    } else if constexpr (std::is_same_v<T, sim::PageHandle>) {
      HandleToProto(v, static_cast<v1::PageHandle*>(r->MutableMessage(msg_, fd)));
    } else if constexpr (std::is_same_v<T, std::vector<sim::PageHandle>>) {
      for (const sim::PageHandle& h : v) {
        HandleToProto(h, static_cast<v1::PageHandle*>(r->AddMessage(msg_, fd)));
      }
    } else if constexpr (std::is_same_v<T, std::vector<sim::op::FragArg>>) {
      for (const sim::op::FragArg& f : v) {
        auto* out = static_cast<v1::FragArg*>(r->AddMessage(msg_, fd));
        HandleToProto(f.page, out->mutable_page());
        out->set_offset(f.offset);
        out->set_len(f.len);
      }
    } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
      for (uint32_t x : v) r->AddUInt32(msg_, fd, x);
    } else if constexpr (std::is_integral_v<T>) {
      switch (fd->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(msg_, fd, static_cast<int32_t>(v)); break;
        case pb::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(msg_, fd, static_cast<int64_t>(v)); break;
        case pb::FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(msg_, fd, static_cast<uint32_t>(v)); break;
        case pb::FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(msg_, fd, static_cast<uint64_t>(v)); break;
        default: break;
      }
    }
  }

 private:
  pb::Message* msg_;
};

// Default-constructs the variant alternative whose kName is `name`.
template <size_t I = 0>
bool MakeBody(absl::string_view name, sim::OpBody* out) {
  if constexpr (I < std::variant_size_v<sim::OpBody>) {
    using T = std::variant_alternative_t<I, sim::OpBody>;
    if (T::kName == name) {
      *out = T{};
      return true;
    }
    return MakeBody<I + 1>(name, out);
  } else {
    return false;
  }
}

}  // namespace

absl::StatusOr<sim::Op> OpFromProto(const v1::Op& in) {
  const pb::OneofDescriptor* oneof = in.GetDescriptor()->FindOneofByName("op");
  const pb::FieldDescriptor* which = in.GetReflection()->GetOneofFieldDescriptor(in, oneof);
  if (which == nullptr) return absl::InvalidArgumentError("op: no op is set");
  sim::Op op;
  switch (in.ctx().kind()) {
    case v1::CTX_PROCESS: op.ctx.kind = sim::CtxKind::kProcess; break;
    case v1::CTX_SOFTIRQ: op.ctx.kind = sim::CtxKind::kSoftirq; break;
    case v1::CTX_WORKQUEUE: op.ctx.kind = sim::CtxKind::kWorkqueue; break;
    default:
      return absl::InvalidArgumentError(absl::StrCat("ctx.kind: ", in.ctx().kind(), " is not a context"));
  }
  if (in.ctx().cpu() > std::numeric_limits<uint16_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("ctx.cpu: ", in.ctx().cpu(), " is out of range"));
  }
  op.ctx.cpu = static_cast<uint16_t>(in.ctx().cpu());
  if (!MakeBody(which->name(), &op.body)) {
    return absl::InternalError(absl::StrCat("op: ", which->name(), " has no model op"));
  }
  const pb::Message& msg = in.GetReflection()->GetMessage(in, which);
  absl::Status st;
  std::visit(
      [&](auto& o) {
        Reader r(msg, absl::StrCat(which->name(), "."));
        std::decay_t<decltype(o)>::Fields(o, r);
        st = r.status();
      },
      op.body);
  if (!st.ok()) return st;
  return op;
}

v1::Op OpToProto(const sim::Op& in) {
  v1::Op out;
  out.mutable_ctx()->set_kind(static_cast<v1::CtxKind>(in.ctx.kind));
  out.mutable_ctx()->set_cpu(in.ctx.cpu);
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        const pb::FieldDescriptor* fd = out.GetDescriptor()->FindFieldByName(std::string(T::kName));
        if (fd == nullptr) return;
        pb::Message* msg = out.GetReflection()->MutableMessage(&out, fd);
        Writer w(msg);
        T::Fields(o, w);
      },
      in.body);
  return out;
}

void OpResultToProto(const sim::OpResult& in, v1::OpResult* out) {
  for (const sim::PageRef& p : in.pages) {
    v1::PageRef* r = out->add_pages();
    HandleToProto(p.page, r->mutable_page());
    r->set_offset(p.offset);
    r->set_dma_addr(p.dma_addr);
  }
  out->set_device(in.device);
  out->set_pool(in.pool);
  for (sim::PoolId p : in.pools) out->add_pools(p);
  out->set_ifindex(in.ifindex);
  for (uint32_t s : in.skbs) out->add_skbs(s);
  out->set_value(in.value);
}

namespace {
struct SchemaCheck {
  const pb::Descriptor* d;
  std::string* problems;
  absl::string_view op;
  template <class T>
  void operator()(absl::string_view name, const T&) {
    if (d->FindFieldByName(std::string(name)) == nullptr) {
      absl::StrAppend(problems, op, ".", name, " missing; ");
    }
  }
};
template <size_t I = 0>
void CheckAll(std::string* problems) {
  if constexpr (I < std::variant_size_v<sim::OpBody>) {
    using T = std::variant_alternative_t<I, sim::OpBody>;
    const pb::FieldDescriptor* fd = v1::Op::descriptor()->FindFieldByName(std::string(T::kName));
    if (fd == nullptr || fd->message_type() == nullptr) {
      absl::StrAppend(problems, T::kName, " missing; ");
    } else {
      T t{};
      SchemaCheck c{fd->message_type(), problems, T::kName};
      T::Fields(t, c);
    }
    CheckAll<I + 1>(problems);
  }
}
}  // namespace

std::string CheckOpSchema() {
  std::string problems;
  CheckAll(&problems);
  return problems;
}

}  // namespace ppsim::service
