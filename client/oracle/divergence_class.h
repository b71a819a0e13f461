// The kind of a divergence, for reading a corpus (tests/oracle/README.md "The generated
// corpus"): hundreds of sequences diverge for a handful of reasons, and the first divergence of
// each names one. Its kind is the op (name, context, allow_direct) and the field, without the
// sequence's indices and values:
//   op 33 "page_pool_put_page page=12 allow_direct=false @napi": pool 3 cache: kernel 61, model 60
//   → "page_pool_put_page allow_direct=false @napi: pool cache"
#ifndef PPSIM_CLIENT_ORACLE_DIVERGENCE_CLASS_H_
#define PPSIM_CLIENT_ORACLE_DIVERGENCE_CLASS_H_

#include <map>
#include <string>
#include <vector>

#include "client/oracle/compare.h"

namespace ppsim::oracle {

std::string DivergenceClass(const Divergence& d);

// Sequences by the class of their first divergence, each class with its sequences in the
// order they were added (the first is the example shown).
class DivergenceClasses {
 public:
  struct Example {
    std::string sequence;
    Divergence first;
  };
  void Add(const std::string& sequence, const Divergence& first);
  // "  123  CLASS  (e.g. SEQUENCE op N: kernel K, model M)", most sequences first.
  std::vector<std::string> Lines() const;
  bool empty() const { return classes_.empty(); }

 private:
  std::map<std::string, std::vector<Example>> classes_;
};

}  // namespace ppsim::oracle

#endif  // PPSIM_CLIENT_ORACLE_DIVERGENCE_CLASS_H_
