// client/oracle/generate.h: the generated corpus is deterministic, valid for the module and the
// translation, never leaks a pool for the rest of a boot, and covers the op mix.
#include "client/oracle/generate.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/oracle/model_run.h"
#include "client/oracle/ops_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/sim/machine.h"
#include "server/sim/page_pool.h"

namespace ppsim::oracle {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kSeeds = 200;

OpsFile Parse(const GeneratedSequence& s) {
  absl::StatusOr<OpsFile> f = ParseOpsFile(s.name + ".ops", s.Text());
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : OpsFile{};
}

TEST(GenerateTest, TheSameSeedGivesTheSameFile) {
  const GenerateOptions o;
  const GeneratedSequence a = GenerateSequence(7, o), b = GenerateSequence(7, o);
  EXPECT_EQ(a.Text(), b.Text());
  EXPECT_EQ(a.kinds, b.kinds);
  EXPECT_NE(a.Text(), GenerateSequence(8, o).Text());
  EXPECT_EQ(a.name, "gen-000007");
  EXPECT_THAT(a.Text(), HasSubstr("ppctl oracle-gen --seed 7 --count 1 ("));
  // Options that are not the defaults are in the header, so the file says how to make it again.
  GenerateOptions w;
  ASSERT_TRUE(ParseGenWeights("put_bh=0, alloc=20", w).ok());
  EXPECT_THAT(GenerateSequence(7, w).Text(), HasSubstr("--weights alloc=20,put_bh=0"));
}

// The fingerprint of seed 1 with the default options: a change to the generator that changes
// the corpus shows here (then the README's corpus numbers are of another corpus).
TEST(GenerateTest, SeedOneIsPinned) {
  const GeneratedSequence s = GenerateSequence(1, GenerateOptions{});
  ASSERT_EQ(s.lines.size(), 70u);
  EXPECT_EQ(s.lines[0], "netdev_register");
  EXPECT_EQ(s.lines[1], "napi_add netdev=1");
}

// Every skb weight 0 draws the corpus the generator drew before it had skb kinds: the skb kinds
// come after the page_pool ones and a kind of weight 0 takes no draw (seed 1's file then was
// these 70 lines; the CI slice, seeds 1..60, was compared line for line when they came).
TEST(GenerateTest, WithoutSkbKindsTheCorpusIsTheOneBefore) {
  GenerateOptions o;
  for (int k = static_cast<int>(GenKind::kSkbBuild); k < kGenKindCount; ++k) {
    o.weights[std::string(GenKinds()[k].name)] = 0;
  }
  const GeneratedSequence s = GenerateSequence(1, o);
  ASSERT_EQ(s.lines.size(), 70u);
  EXPECT_EQ(s.lines[13], "netdev_register");
  EXPECT_EQ(s.lines[14], "observe");
  EXPECT_EQ(s.lines[69], "page_pool_destroy pool=2");
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    for (GenKind k : GenerateSequence(seed, o).kinds) EXPECT_LT(k, GenKind::kSkbBuild);
  }
}

TEST(GenerateTest, OptionsAreChecked) {
  GenerateOptions o;
  EXPECT_TRUE(ValidateGenerateOptions(o).ok());
  o.min_ops = 300;
  EXPECT_THAT(ValidateGenerateOptions(o).message(), HasSubstr("ops: 300..200"));
  o = {};
  EXPECT_THAT(ParseGenWeights("alloc", o).message(), HasSubstr("not KIND=WEIGHT"));
  ASSERT_TRUE(ParseGenWeights("allok=1", o).ok());
  EXPECT_THAT(ValidateGenerateOptions(o).message(), HasSubstr("unknown kind \"allok\""));
  o = {};
  o.weights["advance_time"] = 1;  // not drawn by weight: --sleep-share
  EXPECT_THAT(ValidateGenerateOptions(o).message(), HasSubstr("unknown kind \"advance_time\""));
  o = {};
  for (const GenKindInfo& k : GenKinds()) o.weights[std::string(k.name)] = 0;
  o.weights.erase("advance_time");
  EXPECT_THAT(ValidateGenerateOptions(o).message(), HasSubstr("every weight is 0"));
  o = {};
  o.sleep_share = 2;
  EXPECT_THAT(ValidateGenerateOptions(o).message(), HasSubstr("sleep-share"));
}

// Every op of every sequence runs on the translation, which refuses exactly what the module
// refuses (model_run.h): nothing is refused but disable_direct_recycling where the profile's
// kernel has none, and nothing is beyond what the model can express.
TEST(GenerateTest, TheModuleAndTheTranslationRefuseNothing) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const GeneratedSequence s = GenerateSequence(seed, GenerateOptions{});
    const OpsFile f = Parse(s);
    absl::StatusOr<std::unique_ptr<ModelRun>> run = ModelRun::Create("v6.8", f);
    ASSERT_TRUE(run.ok()) << run.status();
    for (size_t i = 0; i < f.ops.size(); ++i) {
      absl::StatusOr<OpObs> o = (*run)->Apply(f.ops[i], static_cast<int>(i));
      ASSERT_TRUE(o.ok()) << s.name << " op " << i << ": " << o.status();
      if (f.ops[i].name == "page_pool_disable_direct_recycling") continue;
      EXPECT_FALSE(o->refused) << s.name << " op " << i << " " << f.ops[i].text << ": " << o->err;
    }
  }
}

// The rules the module does not enforce but a boot of hundreds of sequences needs (generate.h):
// no pool left in flight for good, no NAPI shared by two on one netdev, short rare sleeps.
class CorpusRules {
 public:
  // "" or what op `o` breaks.
  std::string Check(const OracleOp& o) {
    const std::string& n = o.name;
    if (n == "netdev_register") netdev_napis_.push_back(0);
    if (n == "napi_add" && ++netdev_napis_.at(o.Int("netdev", 0) - 1) > 1) {
      return "a second NAPI on one netdev";
    }
    if (n == "page_pool_create") pool_live_.push_back(true);
    if (n == "page_pool_destroy") pool_live_.at(o.Int("pool", 0) - 1) = false;
    if (n == "page_pool_alloc_pages") {
      for (int64_t i = 0; i < o.Int("count", 1); ++i) page_pool_.push_back(o.Int("pool", 0));
    }
    if (n == "page_pool_put_page" && o.Bool("allow_direct", false) &&
        !pool_live_.at(page_pool_.at(o.Int("page", 0) - 1) - 1)) {
      return "allow_direct=true into a destroyed pool (an alloc cache nothing empties)";
    }
    if (n == "page_pool_put_page" && o.Find("pool") != nullptr) return "a put naming a pool";
    if (n == "put_page" && o.Bool("force", false)) return "put_page force=true";
    if (n == "page_pool_put_page_bulk") {
      std::set<int64_t> pools;
      for (int64_t page : o.IntList("pages")) pools.insert(page_pool_.at(page - 1));
      if (pools.size() != 1) return "a bulk of pages of several pools (one before 6.14)";
    }
    if (n == "advance_time") {
      if (o.DurationNs("ns") > 1'500'000'000) return "a sleep over 1.5 s";
      if (++sleeps_ > 1) return "a second sleep";
    }
    return "";
  }
  int sleeps() const { return sleeps_; }

 private:
  std::vector<int> netdev_napis_;
  std::vector<bool> pool_live_;
  std::vector<int64_t> page_pool_;
  int sleeps_ = 0;
};

TEST(GenerateTest, NoPoolLeftInFlightNoSecondNapiShortRareSleeps) {
  int with_sleep = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const GeneratedSequence s = GenerateSequence(seed, GenerateOptions{});
    ASSERT_EQ(s.kinds.size(), s.lines.size());
    EXPECT_GE(s.lines.size(), 50u) << s.name;
    EXPECT_LE(s.lines.size(), 200u) << s.name;
    CorpusRules rules;
    for (const OracleOp& o : Parse(s).ops) {
      const std::string broken = rules.Check(o);
      EXPECT_EQ(broken, "") << s.name << ":" << o.line << " " << o.text;
    }
    with_sleep += rules.sleeps();
  }
  EXPECT_GT(with_sleep, static_cast<int>(kSeeds) / 20);  // about one in ten
  EXPECT_LT(with_sleep, static_cast<int>(kSeeds) / 6);
}

// Every kind is drawn, and the ops and contexts the corpus is for are all there in quantity.
TEST(GenerateTest, TheOpMixCoversEveryKindOpAndContext) {
  std::map<GenKind, int> kinds;
  std::map<std::string, int> ops;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const GeneratedSequence s = GenerateSequence(seed, GenerateOptions{});
    for (GenKind k : s.kinds) ++kinds[k];
    for (const OracleOp& o : Parse(s).ops) {
      ++ops[o.name];
      const char* ctx[] = {"", "@process", "@bh", "@napi"};
      ++ops[o.name + " " + ctx[static_cast<int>(o.ctx)]];
      if (o.Bool("allow_direct", false)) ++ops[o.name + " direct " + ctx[static_cast<int>(o.ctx)]];
      if (absl::StrContains(o.text, "flags=1")) ++ops["dma pool"];
      if (absl::StrContains(o.text, "netdev=lo")) ++ops["lo pool"];
      if (o.name == "page_pool_create" && o.Find("napi") != nullptr) ++ops["napi pool"];
      if (o.name == "skb_build" && o.Find("head") != nullptr) ++ops["skb head page"];
    }
  }
  for (int k = 0; k < kGenKindCount; ++k) {
    EXPECT_GT(kinds[static_cast<GenKind>(k)], 0) << GenKinds()[k].name;
  }
  for (const char* op :
       {"netdev_register", "netdev_unregister", "napi_add", "napi_enable", "napi_disable",
        "add_device", "page_pool_create", "page_pool_destroy", "page_pool_update_nid",
        "page_pool_disable_direct_recycling", "get_page", "put_page", "observe", "advance_time",
        "page_pool_alloc_pages ", "page_pool_alloc_pages @napi", "page_pool_put_page ",
        "page_pool_put_page @bh", "page_pool_put_page @napi",
        "page_pool_put_page direct @napi", "page_pool_put_page direct @bh",
        "page_pool_put_page direct ", "page_pool_put_page_bulk ",
        "page_pool_put_page_bulk @napi", "page_pool_update_nid @napi", "dma pool", "lo pool",
        "napi pool", "skb_build ", "skb_build @napi", "skb_build @process", "skb_clone",
        "pskb_expand_head", "skb_split", "skb_shift", "skb_try_coalesce", "skb_gro_receive ",
        "skb_gro_receive @napi", "skb_segment", "skb_frag_ref", "kfree_skb", "napi_consume_skb",
        "skb_attempt_defer_free", "stack_hold", "stack_release", "skb head page"}) {
    EXPECT_GT(ops[op], 10) << op;
  }
  EXPECT_EQ(ops["napi_del"], 0);  // the brief's op set; the model has no NAPI removal
  EXPECT_EQ(ops["page_pool_alloc_pages @process"], 0);
}

// The skb ops name what the module holds and keep every pool page's own reference in skbs
// marked for recycle (generate.h): checked op by op against the model's picture (v6.12, the
// kernel generate_skb.h follows), which the observation of each op updates.
class SkbRules {
 public:
  explicit SkbRules(const IndexMap& map) : map_(map) {}

  // "" or what op `o` breaks, before it runs.
  std::string Check(const OracleOp& o) {
    const std::string& n = o.name;
    if (n == "skb_build") {
      if (!o.Bool("recycle", true)) return "an skb not marked for recycle";
      std::vector<int64_t> pages;
      for (const OracleFrag& f : o.Frags("frags")) pages.push_back(f.page);
      if (o.Int("head", 0) != 0) pages.push_back(o.Int("head", 0));
      for (int64_t p : pages) {
        if (p < 1 || p > map_.pages() || !map_.page(static_cast<int>(p)).owned) {
          return "a page the sequence holds no pool reference to";
        }
      }
      return "";
    }
    if (n == "stack_release" || !IsSkbOp(n)) return "";
    const char* k1 = n == "skb_shift" ? "tgt" : n == "skb_try_coalesce" ? "to"
                     : n == "skb_gro_receive" ? "p" : "skb";
    const SkbObs* a = Named(o, k1);
    if (a == nullptr) return "an skb that is not one of the sequence's";
    if (a->state != "live" && !(n == "skb_frag_ref" && a->state == "held")) {
      return absl::StrCat(k1, " is ", a->state);
    }
    const SkbObs* b = nullptr;
    if (n == "skb_shift" || n == "skb_try_coalesce" || n == "skb_gro_receive") {
      b = Named(o, n == "skb_try_coalesce" ? "from" : "skb");
      if (b == nullptr || b->state != "live") return "a second skb that is not live";
    }
    if (n == "skb_split" && a->pp_recycle &&
        (o.Int("at", 0) != a->nr_frags - 1 || o.Int("cut", 0) == 0)) {
      return "a pp skb split but inside its last frag (whole frags to an unmarked skb)";
    }
    if (n == "skb_shift" && a->pp_recycle != b->pp_recycle) return "a shift across pp_recycle";
    if (n == "skb_gro_receive" &&
        (b->nr_frags == 0 || Cloned(o.Int("p", 0)) || Cloned(o.Int("skb", 0)))) {
      return "GRO of an skb without frags, or of a cloned one";
    }
    if (n == "skb_try_coalesce") {
      expect_free_ = o.Int("from", 0);
      if (split_made_.contains(expect_free_) && b->len > 0) {
        return "coalescing from skb_split's skb, whose truesize does not cover its len";
      }
    }
    if (n == "napi_consume_skb" && a->nr_frags > 0) {
      const int pool = map_.page(a->frags[0].page).pool;
      if (!map_.pool(pool).live) return "napi_consume_skb into a destroyed pool";
    }
    return "";
  }
  // After op `o` ran: its observation updates the picture.
  std::string After(const OracleOp& o, const OpObs& obs) {
    for (const SkbObs& k : obs.skbs) {
      if (!skbs_.contains(k.skb)) {  // a new skb: a clone shares its source's data
        group_[k.skb] = o.name == "skb_clone" ? group_.at(o.Int("skb", 0)) : k.skb;
        if (o.name == "skb_split" || (o.name == "skb_clone" && split_made_.contains(o.Int("skb", 0)))) {
          split_made_.insert(k.skb);
        }
      }
      skbs_[k.skb] = k;
      if (k.state == "freed") group_.erase(k.skb);
    }
    if (o.name == "pskb_expand_head" && Cloned(o.Int("skb", 0))) {
      group_[o.Int("skb", 0)] = -o.Int("skb", 0);  // a private copy of the data
    }
    if (expect_free_ != 0 && o.name != "skb_try_coalesce") {
      const bool freed = o.name == "kfree_skb" && o.Int("skb", 0) == expect_free_;
      expect_free_ = 0;
      if (!freed) return "skb_try_coalesce not followed by the free of from";
    }
    return "";
  }
  // The skbs not freed, in index order, and whether the holder has some.
  std::vector<int> Unfreed(bool& held) const {
    std::vector<int> out;
    held = false;
    for (const auto& [i, k] : skbs_) {
      if (k.state == "live") out.push_back(i);
      held = held || k.state == "held";
    }
    return out;
  }

  static bool IsSkbOp(const std::string& n) {
    return absl::StartsWith(n, "skb_") || n == "pskb_expand_head" || n == "kfree_skb" ||
           n == "napi_consume_skb" || absl::StartsWith(n, "stack_");
  }

 private:
  const SkbObs* Named(const OracleOp& o, const char* key) const {
    auto it = skbs_.find(static_cast<int>(o.Int(key, 0)));
    return it == skbs_.end() ? nullptr : &it->second;
  }
  // skb_cloned(), from this side's own count of the skbs sharing a data area (an observation
  // of one clone does not update the others').
  bool Cloned(int64_t skb) const {
    auto it = group_.find(static_cast<int>(skb));
    if (it == group_.end()) return false;
    return std::count_if(group_.begin(), group_.end(),
                         [&](const auto& g) { return g.second == it->second; }) > 1;
  }

  const IndexMap& map_;
  std::map<int, SkbObs> skbs_;
  std::map<int, int> group_;  // skb -> its data area
  std::set<int64_t> split_made_;  // skb_split's new skbs and their clones
  int64_t expect_free_ = 0;
};

// The lines the module's reset amounts to (ppo_main.c op_reset): the holder's skbs and every
// live skb freed (kfree_skb, process context), every owned page returned, every get_page and
// frag reference put, NAPIs disabled, live pools destroyed; then the release worker's time.
std::vector<std::string> ResetLines(const SkbRules& rules, IndexMap map) {
  std::vector<std::string> lines;
  bool held = false;
  const std::vector<int> live = rules.Unfreed(held);
  if (held) lines.push_back("stack_release");
  for (int s : live) lines.push_back(absl::StrCat("kfree_skb skb=", s));
  for (int p = 1; p <= map.pages(); ++p) {
    if (map.page(p).owned) lines.push_back(absl::StrCat("page_pool_put_page page=", p));
    for (int r = 0; r < map.page(p).extra_refs; ++r) lines.push_back(absl::StrCat("put_page page=", p));
  }
  for (int i = 1; i <= map.napis(); ++i) {
    if (map.Napi(i).value()->enabled) lines.push_back(absl::StrCat("napi_disable napi=", i));
  }
  for (int i = 1; i <= map.pools(); ++i) {
    if (map.pool(i).live) lines.push_back(absl::StrCat("page_pool_destroy pool=", i));
  }
  lines.push_back("advance_time ns=3s");
  return lines;
}

TEST(GenerateTest, SkbOpsNameWhatTheModuleHoldsAndEveryPoolDrains) {
  int skb_ops = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const GeneratedSequence s = GenerateSequence(seed, GenerateOptions{});
    OpsFile f = Parse(s);
    absl::StatusOr<std::unique_ptr<ModelRun>> run = ModelRun::Create("v6.12", f);
    ASSERT_TRUE(run.ok()) << run.status();
    SkbRules rules((*run)->map());
    for (size_t i = 0; i < f.ops.size(); ++i) {
      const OracleOp& o = f.ops[i];
      skb_ops += SkbRules::IsSkbOp(o.name);
      const std::string broken = rules.Check(o);
      EXPECT_EQ(broken, "") << s.name << ":" << o.line << " " << o.text;
      absl::StatusOr<OpObs> obs = (*run)->Apply(o, static_cast<int>(i));
      ASSERT_TRUE(obs.ok()) << s.name << " op " << i << ": " << obs.status();
      EXPECT_FALSE(obs->flags.bad_page || obs->flags.bug || obs->flags.oops)
          << s.name << ":" << o.line << " " << o.text;
      EXPECT_EQ(rules.After(o, *obs), "") << s.name << ":" << o.line << " " << o.text;
    }
    // The reset: no pool page freed by put_page on the way ("page_pool leak"), and every pool
    // of the sequence freed by its release worker.
    const std::vector<std::string> reset = ResetLines(rules, (*run)->map());
    absl::StatusOr<OpsFile> tail = ParseOpsFile("reset.ops", absl::StrJoin(reset, "\n"));
    ASSERT_TRUE(tail.ok()) << tail.status();
    for (size_t i = 0; i < tail->ops.size(); ++i) {
      absl::StatusOr<OpObs> obs = (*run)->Apply(tail->ops[i], static_cast<int>(f.ops.size() + i));
      ASSERT_TRUE(obs.ok()) << s.name << " reset: " << obs.status();
      EXPECT_FALSE(obs->refused) << s.name << " reset " << tail->ops[i].text << ": " << obs->err;
      EXPECT_FALSE(obs->flags.bad_page) << s.name << " reset " << tail->ops[i].text;
    }
    for (int p = 1; p <= (*run)->map().pools(); ++p) {
      const sim::PagePool* pool = (*run)->lab().kernel_view().page_pool((*run)->map().pool(p).id);
      ASSERT_NE(pool, nullptr);
      EXPECT_EQ(pool->state(), sim::PoolState::kFreed)
          << s.name << " pool " << p << " still in flight after the reset: " << pool->inflight();
    }
  }
  EXPECT_GT(skb_ops, static_cast<int>(kSeeds) * 20);  // about a quarter of the ops
}

TEST(GenerateTest, AZeroWeightIsNeverDrawn) {
  GenerateOptions o;
  ASSERT_TRUE(ParseGenWeights("put_bh=0,destroy_napi_enabled=0,disable_direct_napi_enabled=0", o)
                  .ok());
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    for (const std::string& l : GenerateSequence(seed, o).lines) {
      EXPECT_FALSE(absl::StrContains(l, "allow_direct=false @bh")) << l;
    }
  }
}

}  // namespace
}  // namespace ppsim::oracle
