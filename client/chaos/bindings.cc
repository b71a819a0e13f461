// File: client/chaos/bindings.cc
#include "client/chaos/bindings.h"

#include <cctype>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace ppsim::chaos {

namespace {

bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool IsListAccessor(absl::string_view a) {
  return a == "pages" || a == "dma" || a == "skbs" || a == "pools";
}
bool IsScalarAccessor(absl::string_view a) {
  return a == "device" || a == "pool" || a == "ifindex" || a == "value";
}

std::string Handle(const v1::PageRef& r) {
  return absl::StrFormat("0x%x/%u", r.page().pfn(), r.page().generation());
}

// Element `index` of a repeated result field, or all of them comma-separated when index < 0.
template <class List, class Format>
absl::StatusOr<std::string> Pick(const Reference& ref, const List& list, Format format) {
  if (ref.index < 0) {
    if (list.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("$", ref.name, ".", ref.accessor, ": the op bound to ", ref.name,
                       " produced no ", ref.accessor));
    }
    std::vector<std::string> parts;
    for (const auto& x : list) parts.push_back(format(x));
    return absl::StrJoin(parts, ",");
  }
  if (static_cast<size_t>(ref.index) >= static_cast<size_t>(list.size())) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "$%s.%s[%d]: the op bound to %s produced %d %s", ref.name, ref.accessor, ref.index,
        ref.name, list.size(), ref.accessor));
  }
  return format(list[ref.index]);
}

}  // namespace

absl::StatusOr<std::vector<Reference>> FindReferences(absl::string_view text) {
  std::vector<Reference> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') continue;
    size_t j = i + 1;
    while (j < text.size() && IsNameChar(text[j])) ++j;
    Reference ref;
    ref.name = std::string(text.substr(i + 1, j - i - 1));
    if (ref.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a '$' must be followed by a bound name, at \"", text.substr(i), "\""));
    }
    if (j < text.size() && text[j] == '.') {
      size_t k = j + 1;
      while (k < text.size() && IsNameChar(text[k])) ++k;
      ref.accessor = std::string(text.substr(j + 1, k - j - 1));
      j = k;
      if (!IsListAccessor(ref.accessor) && !IsScalarAccessor(ref.accessor)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "$", ref.name, ".", ref.accessor,
            ": expected one of pages, dma, skbs, pools, device, pool, ifindex, value"));
      }
      if (j < text.size() && text[j] == '[') {
        const size_t close = text.find(']', j);
        int index = 0;
        if (close == absl::string_view::npos ||
            !absl::SimpleAtoi(text.substr(j + 1, close - j - 1), &index) || index < 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              "$", ref.name, ".", ref.accessor, ": expected [N] with N a non-negative integer"));
        }
        if (!IsListAccessor(ref.accessor)) {
          return absl::InvalidArgumentError(
              absl::StrCat("$", ref.name, ".", ref.accessor, " is not a list: drop the [N]"));
        }
        ref.index = index;
        j = close + 1;
      } else if (ref.accessor == "dma") {
        return absl::InvalidArgumentError(
            absl::StrCat("$", ref.name, ".dma: expected an index, e.g. $", ref.name, ".dma[0]"));
      }
    }
    out.push_back(std::move(ref));
    i = j - 1;
  }
  return out;
}

absl::StatusOr<std::string> Bindings::Value(const Reference& ref) const {
  auto it = results_.find(ref.name);
  if (it == results_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("$", ref.name, ": no earlier step has `as: ", ref.name, "`"));
  }
  const v1::OpResult& r = it->second;
  auto num = [](uint64_t v) { return absl::StrCat(v); };
  if (ref.accessor == "pages") return Pick(ref, r.pages(), Handle);
  if (ref.accessor == "dma") {
    return Pick(ref, r.pages(),
                [](const v1::PageRef& p) { return absl::StrFormat("0x%x", p.dma_addr()); });
  }
  if (ref.accessor == "skbs") return Pick(ref, r.skbs(), num);
  if (ref.accessor == "pools") return Pick(ref, r.pools(), num);
  if (ref.accessor == "device") return num(r.device());
  if (ref.accessor == "pool") return num(r.pool());
  if (ref.accessor == "ifindex") return num(r.ifindex());
  if (ref.accessor == "value") return num(r.value());
  // The main result, in the order documented in the header.
  if (!r.pages().empty()) return Handle(r.pages(0));
  if (!r.skbs().empty()) return num(r.skbs(0));
  if (r.pool() != 0) return num(r.pool());
  if (!r.pools().empty()) return num(r.pools(0));
  if (r.device() != 0) return num(r.device());
  return num(r.value());
}

absl::StatusOr<std::string> Bindings::Resolve(absl::string_view text) const {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '$') {
      out.push_back(text[i++]);
      continue;
    }
    // Re-scan this one reference to learn its length.
    absl::StatusOr<std::vector<Reference>> refs = FindReferences(text.substr(i));
    if (!refs.ok()) return refs.status();
    const Reference& ref = refs->front();
    absl::StatusOr<std::string> v = Value(ref);
    if (!v.ok()) return v.status();
    out += *v;
    size_t len = 1 + ref.name.size();
    if (!ref.accessor.empty()) len += 1 + ref.accessor.size();
    if (ref.index >= 0) len = text.find(']', i + len) + 1 - i;
    i += len;
  }
  return out;
}

}  // namespace ppsim::chaos
