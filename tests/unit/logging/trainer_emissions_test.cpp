// The emissions tracker under the real trainer: report_to "codecarbon" (or the default "all",
// where the counters are readable) writes emissions.csv into output_dir, adds the totals to the
// train summary and the model card; "none", or nothing readable, leaves all of that out.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sbert/data/readers.hpp>
#include <sbert/losses/cosent.hpp>
#include <sbert/training/trainer.hpp>

#undef CHECK
#include "catch.hpp"
#include "reference_json.hpp"

namespace fs = std::filesystem;
namespace {
struct e1 : sbert::text_column<"sentence1"> {};
struct e2 : sbert::text_column<"sentence2"> {};
struct esc : sbert::score_column<"score"> {};
using ests = sbert::schema<e1, e2, esc>;

sbert::dataset<ests> emissions_stsb(std::size_t n) {
  sbert::read_options o;
  o.header = false;
  o.positions = {{"score", 4}, {"sentence1", 5}, {"sentence2", 6}};
  o.extra_fields = sbert::extra_fields::ignore;
  return sbert::read_tsv<ests>(sbert::test::shared_dir() + "/data/stsbenchmark/sts-train.csv", o)
      .take(n)
      .map_column<esc>([](float s) { return s / 5.f; });
}
std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("trainer: report_to codecarbon writes emissions.csv, the summary's totals and the card's sections") {
  const auto root = fs::temp_directory_path() / "sbert_trainer_emissions";
  fs::remove_all(root);
  // A fake /proc, so the TDP fallback runs the same on every machine (no RAPL under root/none).
  fs::create_directories(root / "proc");
  std::ofstream(root / "proc" / "stat") << "cpu  100 0 100 800 0 0 0 0 0 0\n";
  std::ofstream(root / "proc" / "meminfo") << "MemTotal:       8388608 kB\nMemAvailable:   4194304 kB\n";
  std::ofstream(root / "proc" / "cpuinfo") << "model name\t: Fake CPU\n";

  auto model = sbert::models::sentence_transformer::load(sbert::test::reference_dir() + "/tiny-bert-st");
  sbert::training_args args;
  args.output_dir = (root / "out").string();
  args.max_steps = 2;
  args.learning_rate = 1e-3;
  args.save_strategy = sbert::interval_strategy::no;
  args.log_level = sbert::log_level::error;
  args.disable_progress_bar = true;
  args.report_to = {"codecarbon"};
  args.emissions.carbon_intensity = 300.0;
  args.emissions.use_nvml = false;
  args.emissions.powercap_root = (root / "none").string();
  args.emissions.proc_root = (root / "proc").string();
  {
    sbert::trainer t{model, args, emissions_stsb(16), sbert::cosent_loss{}};
    const auto r = t.train();
    const auto kg = sbert::find_value(r.metrics, "train_emissions");
    const auto kwh = sbert::find_value(r.metrics, "train_energy_consumed");
    REQUIRE(kg);
    REQUIRE(kwh);
    CHECK(*kwh > 0);  // RAM at 3 W per 8 GB for the run's duration, at least
    CHECK(*kg == Approx(*kwh * 0.3).epsilon(1e-12));
    CHECK(r.metrics.back().first == "epoch");  // the summary still ends with the epoch
    REQUIRE(t.state().emissions);
    CHECK(t.state().emissions->ram_power == Approx(3.0));  // 8 GiB
    // emissions.csv: the header and this run's row
    const auto csv = slurp(fs::path(args.output_dir) / "emissions.csv");
    CHECK(csv.starts_with(sbert::emissions_csv_header() + "\n"));
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 2);
    CHECK(csv.find(t.state().emissions->run_id) != std::string::npos);
    // the card
    t.save_model((root / "model").string());
    const auto card = slurp(root / "model" / "README.md");
    CHECK(card.find("### Environmental Impact") != std::string::npos);
    CHECK(card.find("- **CPU Model**: Fake CPU\n") != std::string::npos);
    CHECK(card.find("- **RAM Size**: 8.00 GB\n") != std::string::npos);
  }
  // "none": nothing
  fs::remove_all(args.output_dir);
  args.report_to = {"none"};
  {
    sbert::trainer t{model, args, emissions_stsb(16), sbert::cosent_loss{}};
    const auto r = t.train();
    CHECK(!sbert::find_value(r.metrics, "train_emissions"));
    CHECK(!fs::exists(fs::path(args.output_dir) / "emissions.csv"));
    CHECK(!t.state().emissions);
  }
  // "all" where nothing is readable: off, silently
  fs::remove_all(args.output_dir);
  args.report_to = {"all"};
  args.emissions.proc_root = (root / "none").string();
  {
    sbert::trainer t{model, args, emissions_stsb(16), sbert::cosent_loss{}};
    t.train();
    CHECK(!fs::exists(fs::path(args.output_dir) / "emissions.csv"));
  }
  fs::remove_all(root);
}
