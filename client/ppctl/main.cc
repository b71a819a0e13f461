// ppctl: the ppsim command line (design.md §1, §6).
#include <CLI/CLI.hpp>

#include "client/ppctl/demo.h"

int main(int argc, char** argv) {
  CLI::App app{"ppctl: drive ppsim labs (simulated page_pool over a simulated IOMMU)"};
  app.require_subcommand(1);

  ppsim::ppctl::DemoOptions demo;
  CLI::App* demo_cmd = app.add_subcommand(
      "demo", "run the unbind-with-pages-in-flight story on an embedded lab, once per teardown "
              "strategy, and print what happened");
  demo_cmd->add_option("--seed", demo.seed, "PRNG seed of the lab")->capture_default_str();
  demo_cmd->add_flag("-v,--verbose", demo.verbose, "print every event and violation explanation");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 64;  // usage error (design.md §6)
  }
  if (*demo_cmd) return ppsim::ppctl::RunDemo(demo);
  return 64;
}
