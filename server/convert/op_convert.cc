#include "server/convert/op_convert.h"

#include <limits>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace ppsim::convert {

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

// What converting op type T needs from ops.proto, looked up once per process rather than by
// name on every op (Apply converts millions of ops a second): the Op field that holds T's
// message, and that message's fields in the order T::Fields() visits them (nullptr where
// ops.proto lacks one; CheckOpSchema reports those).
struct OpSchema {
  const pb::FieldDescriptor* op_field = nullptr;
  std::vector<const pb::FieldDescriptor*> fields;
};

template <class T>
const OpSchema& SchemaOf() {
  static const OpSchema* schema = [] {
    auto* s = new OpSchema;
    s->op_field = v1::Op::descriptor()->FindFieldByName(std::string(T::kName));
    const pb::Descriptor* d = s->op_field ? s->op_field->message_type() : nullptr;
    T t{};
    T::Fields(t, [&](absl::string_view name, const auto&) {
      s->fields.push_back(d ? d->FindFieldByName(std::string(name)) : nullptr);
    });
    return s;
  }();
  return *schema;
}

// Reads one proto field into a sim field, checking ranges. Fields come in Fields() order, the
// order of `fields`.
class Reader {
 public:
  Reader(const pb::Message& msg, const std::vector<const pb::FieldDescriptor*>& fields,
         absl::string_view op)
      : msg_(msg), fields_(fields), op_(op) {}
  const absl::Status& status() const { return status_; }

  template <class T>
  void operator()(absl::string_view name, T& v) {
    if (!status_.ok()) return;
    const size_t i = next_++;
    const pb::FieldDescriptor* fd = i < fields_.size() ? fields_[i] : nullptr;
    if (fd == nullptr) {
      status_ = absl::InternalError(absl::StrCat(op_, ".", name, ": missing from ops.proto"));
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
        status_ = absl::InvalidArgumentError(absl::StrCat(op_, ".", name, ": ", d, " is not a DmaDir"));
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
          status_ = absl::InternalError(absl::StrCat(op_, ".", name, ": type mismatch with the model"));
      }
    } else {
      static_assert(!sizeof(T), "op field type without a proto mapping");
    }
  }

 private:
  const pb::Message& msg_;
  const std::vector<const pb::FieldDescriptor*>& fields_;
  absl::string_view op_;  // for error messages: "set_fault.interval: ..."
  size_t next_ = 0;
  absl::Status status_;
};

// Writes one sim field into the proto message.
class Writer {
 public:
  Writer(pb::Message* msg, const std::vector<const pb::FieldDescriptor*>& fields)
      : msg_(msg), fields_(fields) {}
  template <class T>
  void operator()(absl::string_view, const T& v) {
    const size_t i = next_++;
    const pb::FieldDescriptor* fd = i < fields_.size() ? fields_[i] : nullptr;
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
  const std::vector<const pb::FieldDescriptor*>& fields_;
  size_t next_ = 0;
};

// Fills `out` with op type T read from its message.
template <class T>
absl::Status BodyFromProto(const pb::Message& msg, sim::OpBody* out) {
  T o{};
  Reader r(msg, SchemaOf<T>().fields, T::kName);
  T::Fields(o, r);
  if (!r.status().ok()) return r.status();
  *out = std::move(o);
  return absl::OkStatus();
}

using BodyReader = absl::Status (*)(const pb::Message&, sim::OpBody*);

// The reader for each Op field number, built once.
template <size_t... I>
absl::flat_hash_map<int, BodyReader> MakeBodyReaders(std::index_sequence<I...>) {
  absl::flat_hash_map<int, BodyReader> readers;
  auto add = [&](const pb::FieldDescriptor* fd, BodyReader reader) {
    if (fd != nullptr) readers[fd->number()] = reader;
  };
  (add(SchemaOf<std::variant_alternative_t<I, sim::OpBody>>().op_field,
       &BodyFromProto<std::variant_alternative_t<I, sim::OpBody>>),
   ...);
  return readers;
}

BodyReader BodyReaderFor(const pb::FieldDescriptor* which) {
  static const auto* readers = new absl::flat_hash_map<int, BodyReader>(
      MakeBodyReaders(std::make_index_sequence<std::variant_size_v<sim::OpBody>>{}));
  auto it = readers->find(which->number());
  return it == readers->end() ? nullptr : it->second;
}

}  // namespace

absl::StatusOr<sim::Op> OpFromProto(const v1::Op& in) {
  static const pb::OneofDescriptor* oneof = v1::Op::descriptor()->FindOneofByName("op");
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
  BodyReader read = BodyReaderFor(which);
  if (read == nullptr) {
    return absl::InternalError(absl::StrCat("op: ", which->name(), " has no model op"));
  }
  if (absl::Status st = read(in.GetReflection()->GetMessage(in, which), &op.body); !st.ok()) {
    return st;
  }
  return op;
}

v1::Op OpToProto(const sim::Op& in) {
  v1::Op out;
  out.mutable_ctx()->set_kind(static_cast<v1::CtxKind>(in.ctx.kind));
  out.mutable_ctx()->set_cpu(in.ctx.cpu);
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        const OpSchema& schema = SchemaOf<T>();
        if (schema.op_field == nullptr) return;
        Writer w(out.GetReflection()->MutableMessage(&out, schema.op_field), schema.fields);
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

}  // namespace ppsim::convert
